#pragma once
// Tokens written in the text (special and added tokens) are found before anything else
// tokenizes it: the longest match at the earliest position, as Hugging Face's added vocabulary
// and llama.cpp's special-token partition find them.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace vkllm {

struct TextToken {
  int32_t id;
  std::string text;
  bool control = false;                 // matched only when control tokens are parsed
  bool lstrip = false, rstrip = false;  // the match takes in whitespace on its left / right
  bool single_word = false;             // matches only where no word character touches it
};

class TextTokenMatcher {
 public:
  explicit TextTokenMatcher(std::vector<TextToken> tokens);

  struct Segment {
    int32_t id;  // the token, or -1 for text between tokens
    size_t begin, end;
  };
  // The text as tokens and the (non-empty) text between them, in order. A control token not
  // parsed stays text, and no other token is found inside it.
  std::vector<Segment> split(std::string_view text, bool parse_control) const;

 private:
  // Longest token text at text[at]: its index in tokens_ and length, or {-1, 0}.
  std::pair<int32_t, size_t> longest_at(std::string_view text, size_t at) const;

  std::vector<TextToken> tokens_;
  // A byte trie: edges keyed by node * 256 + byte; node_token_[node] ends there (-1: none).
  std::unordered_map<uint64_t, int32_t> edges_;
  std::vector<int32_t> node_token_;
  bool first_byte_[256] = {};
};

}  // namespace vkllm
