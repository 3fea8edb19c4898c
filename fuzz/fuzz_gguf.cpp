// GGUF files: the header, metadata and tensor table, then the tokenizer their metadata
// describes, encoding and decoding a fixed text with it.
#include "fuzz/fuzz_input.h"
#include "host/tokenizer.h"
#include "models/gguf.h"
#include "models/gguf_vocab.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vkllm::fuzz::write_input("input.gguf", data, size);
  try {
    vkllm::GgufFile file(path);
    for (const auto& t : file.tensors()) (void)file.find(t.name)->elements();
    if (auto vocab = vkllm::vocab_from_gguf(file)) {
      vkllm::Tokenizer tokenizer(std::move(*vocab));
      tokenizer.decode(tokenizer.encode("Hello world! 123 <s> héllo", true, true));
    }
  } catch (const vkllm::Error&) {
  }
  return 0;
}
