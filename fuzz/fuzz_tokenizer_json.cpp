// tokenizer.json: loading the fuzzed file, then encoding and decoding a fixed text with it.
#include "fuzz/fuzz_input.h"
#include "host/tokenizer.h"
#include "host/tokenizer/tokenizer_json.h"
#include "runtime/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = vkllm::fuzz::write_input("tokenizer.json", data, size);
  try {
    vkllm::Tokenizer tokenizer(vkllm::vocab_from_tokenizer_json(std::filesystem::path(path).parent_path().string()));
    tokenizer.decode(tokenizer.encode("Hello world! 123 héllo 中文", true, true));
  } catch (const vkllm::Error&) {
  }
  return 0;
}
