// llama2.c checkpoints: the header and the sizes it implies, against the file.
#include "fuzz/fuzz_input.h"
#include "models/llama2c.h"
#include "models/mapped_file.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vkllm::fuzz::write_input("model.bin", data, size);
  try {
    const vkllm::MappedFile file(path, 28, "a llama2.c checkpoint");
    vkllm::read_llama2c_header(file, path);
  } catch (const vkllm::Error&) {
  }
  return 0;
}
