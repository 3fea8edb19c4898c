#include "host/tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <map>

#include "runtime/error.h"

namespace vkllm {

namespace {

// GPT-2's split: contractions, letters, digits, other symbols, each with one optional leading
// space; runs of whitespace keep their last space for the following word.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3 and Qwen2: case-insensitive contractions, a non-letter may lead a word, newlines are
// kept apart; Llama 3 groups up to three digits, Qwen2 splits every digit.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDigits = R"(\p{N})";

const std::map<std::string, std::vector<const char*>>& table() {
  static const std::map<std::string, std::vector<const char*>> t{
      {"default", {kGpt2}},     {"gpt-2", {kGpt2}},       {"gpt2", {kGpt2}},          {"phi-2", {kGpt2}},
      {"olmo", {kGpt2}},        {"mpt", {kGpt2}},         {"llama3", {kLlama3}},      {"llama-bpe", {kLlama3}},
      {"llama-v3", {kLlama3}},  {"smaug-bpe", {kLlama3}}, {"qwen2", {kQwen2}},        {"deepseek-r1-qwen", {kQwen2}},
      {"smollm", {kDigits, kGpt2}}, {"starcoder", {kDigits, kGpt2}}, {"refact", {kDigits, kGpt2}},
  };
  return t;
}

}  // namespace

struct PreTokenizer::Pattern {
  pcre2_code* code = nullptr;
  pcre2_match_data* match = nullptr;
  ~Pattern() {
    pcre2_match_data_free(match);
    pcre2_code_free(code);
  }
};

PreTokenizer::PreTokenizer(const std::string& name) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : known_names()) known.append(known.empty() ? "" : ", ").append(n);
    throw Error("unknown pre-tokenizer '" + name + "' (tokenizer.ggml.pre); known: " + known);
  }
  for (const char* source : it->second) compile(source, "pre-tokenizer '" + name + "'");
}

PreTokenizer::PreTokenizer(const std::vector<std::string>& patterns, const std::string& source) {
  for (const auto& p : patterns) compile(p, source);
}

void PreTokenizer::compile(const std::string& source, const std::string& what) {
  int code = 0;
  PCRE2_SIZE offset = 0;
  auto p = std::make_unique<Pattern>();
  // UCP: \s, \p{L} and friends use Unicode properties; invalid UTF-8 in the input is allowed
  // (it is split around, never rejected).
  p->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(source.c_str()), source.size(),
                          PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF, &code, &offset, nullptr);
  require(p->code != nullptr, what + ": the pattern '" + source + "' does not compile (at offset " + std::to_string(offset) + ")");
  p->match = pcre2_match_data_create_from_pattern(p->code, nullptr);
  patterns_.push_back(std::move(p));
}

PreTokenizer::~PreTokenizer() = default;
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;

std::vector<std::string> PreTokenizer::known_names() {
  std::vector<std::string> names;
  for (const auto& [n, _] : table()) names.push_back(n);
  return names;
}

std::vector<std::string_view> PreTokenizer::split(std::string_view text) const {
  std::vector<std::string_view> pieces{text};
  for (const auto& p : patterns_) {
    std::vector<std::string_view> next;
    for (std::string_view piece : pieces) {
      const auto* subject = reinterpret_cast<PCRE2_SPTR>(piece.data());
      size_t emitted = 0, search = 0;
      while (search < piece.size()) {
        const int rc = pcre2_match(p->code, subject, piece.size(), search, 0, p->match, nullptr);
        if (rc < 0) break;  // no further match: the rest is one piece
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(p->match);
        if (ov[1] == ov[0]) {  // an empty match splits nothing; search on from the next byte
          search = ov[1] + 1;
          continue;
        }
        if (ov[0] > emitted) next.push_back(piece.substr(emitted, ov[0] - emitted));
        next.push_back(piece.substr(ov[0], ov[1] - ov[0]));
        emitted = search = ov[1];
      }
      if (emitted < piece.size()) next.push_back(piece.substr(emitted));
    }
    pieces = std::move(next);
  }
  return pieces;
}

}  // namespace vkllm
