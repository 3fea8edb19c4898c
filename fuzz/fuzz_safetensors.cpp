// safetensors files: the JSON header and the tensor table against the data section.
#include "fuzz/fuzz_input.h"
#include "models/safetensors.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vkllm::fuzz::write_input("model.safetensors", data, size);
  try {
    vkllm::SafetensorsFile file(path);
    volatile uint8_t sum = 0;
    for (const auto& [name, t] : file.tensors())
      if (t.bytes) sum = sum + t.data[0] + t.data[t.bytes - 1];  // the claimed range lies in the file
  } catch (const vkllm::Error&) {
  }
  return 0;
}
