// Encoding fuzzed text with a real tokenizer (VKLLM_FUZZ_TOKENIZER: a folder with
// tokenizer.json; default ../shared/data/tokenizers/hf/llama3), then decoding it, whole and
// streamed, which must give the text back for text without special tokens.
#include <cstdlib>

#include "fuzz/fuzz_input.h"
#include "host/tokenizer.h"
#include "host/tokenizer/tokenizer_json.h"

namespace {
const vkllm::Tokenizer& tokenizer() {
  static const vkllm::Tokenizer t = [] {
    const char* dir = std::getenv("VKLLM_FUZZ_TOKENIZER");
    return vkllm::Tokenizer(vkllm::vocab_from_tokenizer_json(dir ? dir : "../shared/data/tokenizers/hf/llama3"));
  }();
  return t;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const vkllm::Tokenizer& t = tokenizer();
  const std::vector<int32_t> ids = t.encode(text, false, false);
  vkllm::StreamDecoder stream(t);
  std::string streamed;
  for (int32_t id : ids) streamed += stream.push(id);
  streamed += stream.flush();
  if (streamed != t.decode(ids)) std::abort();  // the stream and the whole decode disagree
  return 0;
}
