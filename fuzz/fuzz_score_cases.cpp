// `vkllm score` cases: a JSONL line read as a case with its named and random prefixes, text
// cases through a real tokenizer where VKLLM_FUZZ_TOKENIZER names one (as fuzz_tokenize).
#include <cstdlib>
#include <filesystem>

#include "host/research/score_cases.h"
#include "host/tokenizer.h"
#include "host/tokenizer/tokenizer_json.h"
#include "runtime/error.h"

namespace {
const vkllm::Tokenizer* tokenizer() {
  static const std::unique_ptr<vkllm::Tokenizer> t = []() -> std::unique_ptr<vkllm::Tokenizer> {
    const char* dir = std::getenv("VKLLM_FUZZ_TOKENIZER");
    if (!dir || !std::filesystem::exists(std::filesystem::path(dir) / "tokenizer.json")) return nullptr;
    return std::make_unique<vkllm::Tokenizer>(vkllm::vocab_from_tokenizer_json(dir));
  }();
  return t.get();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto j = nlohmann::json::parse(data, data + size, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    vkllm::score_variants(j, tokenizer(), vkllm::RandomPrefix{7, 300, {1, 2}}, 3);
  } catch (const vkllm::Error&) {
  }
  return 0;
}
