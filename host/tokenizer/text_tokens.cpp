#include "host/tokenizer/text_tokens.h"

#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"

namespace vkllm {

TextTokenMatcher::TextTokenMatcher(std::vector<TextToken> tokens) : tokens_(std::move(tokens)), node_token_{-1} {
  for (size_t t = 0; t < tokens_.size(); ++t) {
    const std::string& s = tokens_[t].text;
    if (s.empty()) continue;
    first_byte_[uint8_t(s[0])] = true;
    int32_t node = 0;
    for (unsigned char b : s) {
      auto [it, added] = edges_.try_emplace(uint64_t(node) * 256 + b, int32_t(node_token_.size()));
      if (added) node_token_.push_back(-1);
      node = it->second;
    }
    if (node_token_[size_t(node)] < 0) node_token_[size_t(node)] = int32_t(t);  // the first of duplicate texts wins
  }
}

std::pair<int32_t, size_t> TextTokenMatcher::longest_at(std::string_view text, size_t at) const {
  std::pair<int32_t, size_t> best{-1, 0};
  int32_t node = 0;
  for (size_t i = at; i < text.size(); ++i) {
    auto it = edges_.find(uint64_t(node) * 256 + uint8_t(text[i]));
    if (it == edges_.end()) break;
    node = it->second;
    if (node_token_[size_t(node)] >= 0) best = {node_token_[size_t(node)], i + 1 - at};
  }
  return best;
}

namespace {

// Hugging Face's single_word: no word character right before or after the match.
bool touches_word(std::string_view text, size_t begin, size_t end) {
  size_t at = 0;
  if (begin > 0 && unicode::is_word(utf8::decode_before(text, begin, at))) return true;
  at = end;
  return end < text.size() && unicode::is_word(utf8::decode(text, at));
}

}  // namespace

std::vector<TextTokenMatcher::Segment> TextTokenMatcher::split(std::string_view text, bool parse_control) const {
  std::vector<Segment> out;
  size_t emitted = 0;  // end of what `out` covers
  for (size_t i = 0; i < text.size();) {
    if (!first_byte_[uint8_t(text[i])]) {
      ++i;
      continue;
    }
    const auto [t, length] = longest_at(text, i);
    if (t < 0) {
      ++i;
      continue;
    }
    const TextToken& token = tokens_[size_t(t)];
    size_t begin = i, end = i + length;
    i = end;  // a match that does not count still hides the text it covers, as in Hugging Face
    if (token.control && !parse_control) continue;
    if (token.single_word && touches_word(text, begin, end)) continue;
    if (token.lstrip)
      while (begin > emitted) {
        size_t start = 0;
        if (!unicode::is_whitespace(utf8::decode_before(text, begin, start)) || start < emitted) break;
        begin = start;
      }
    if (token.rstrip)
      while (end < text.size()) {
        size_t next = end;
        if (!unicode::is_whitespace(utf8::decode(text, next))) break;
        end = next;
      }
    if (begin > emitted) out.push_back({-1, emitted, begin});
    out.push_back({token.id, begin, end});
    emitted = i = end;
  }
  if (emitted < text.size()) out.push_back({-1, emitted, text.size()});
  return out;
}

}  // namespace vkllm
