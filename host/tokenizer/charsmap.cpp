#include "host/tokenizer/charsmap.h"

#include <cstring>

#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
// Darts-clone's unit layout.
bool has_leaf(uint32_t unit) { return (unit >> 8) & 1; }
uint32_t value(uint32_t unit) { return unit & ((1u << 31) - 1); }
uint32_t label(uint32_t unit) { return unit & ((1u << 31) | 0xffu); }
uint32_t offset(uint32_t unit) { return (unit >> 10) << ((unit & (1u << 9)) >> 6); }
}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string_view blob, Matching matching, const std::string& source) : matching_(matching) {
  uint32_t trie_bytes = 0;
  require(blob.size() >= 4, source + ": the precompiled charsmap is shorter than its header");
  std::memcpy(&trie_bytes, blob.data(), 4);
  require(trie_bytes % 4 == 0 && trie_bytes > 0 && trie_bytes <= blob.size() - 4,
          source + ": the precompiled charsmap's trie size " + std::to_string(trie_bytes) + " does not fit its " +
              std::to_string(blob.size()) + " bytes");
  units_.resize(trie_bytes / 4);
  std::memcpy(units_.data(), blob.data() + 4, trie_bytes);
  strings_.assign(blob.substr(4 + trie_bytes));
  // Every value must start a NUL-terminated string in the blob: check them all once, so
  // apply() never reads past it.
  for (uint32_t u : units_)
    if (label(u) & (1u << 31))
      require(value(u) < strings_.size() && strings_.find('\0', value(u)) != std::string::npos,
              source + ": the precompiled charsmap points past its strings");
}

bool PrecompiledCharsmap::match(std::string_view text, bool longest, std::string_view& replacement, size_t& length) const {
  size_t node = offset(units_[0]);
  bool found = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const uint8_t c = uint8_t(text[i]);
    node ^= c;
    if (node >= units_.size() || label(units_[node]) != c) break;
    const bool leaf = has_leaf(units_[node]);
    node ^= offset(units_[node]);
    if (node >= units_.size()) break;
    if (leaf) {  // the value unit sits at the node's label-0 child
      replacement = std::string_view(strings_.c_str() + value(units_[node]));
      length = i + 1;
      found = true;
      if (!longest) break;
    }
  }
  return found;
}

void PrecompiledCharsmap::apply_longest(std::string_view text, std::string& out) const {
  for (size_t i = 0; i < text.size();) {
    std::string_view replacement;
    size_t length = 0;
    if (match(text.substr(i), true, replacement, length)) {
      out.append(replacement);
      i += length;
    } else {
      const size_t start = i;
      utf8::decode(text, i);  // one character, kept as it is
      out.append(text.substr(start, i - start));
    }
  }
}

void PrecompiledCharsmap::apply_per_grapheme(std::string_view text, std::string& out) const {
  size_t begin = 0;
  for (const size_t end : unicode::grapheme_ends(text)) {
    const std::string_view cluster = text.substr(begin, end - begin);
    begin = end;
    std::string_view replacement;
    size_t length = 0;
    if (cluster.size() < 6 && match(cluster, false, replacement, length)) {
      out.append(replacement);  // even where the rule covers only the cluster's start
      continue;
    }
    for (size_t i = 0; i < cluster.size();) {
      const size_t start = i;
      utf8::decode(cluster, i);
      const std::string_view character = cluster.substr(start, i - start);
      out.append(match(character, false, replacement, length) ? replacement : character);
    }
  }
}

std::string PrecompiledCharsmap::apply(std::string_view text) const {
  std::string out;
  out.reserve(text.size());
  if (matching_ == Matching::Longest)
    apply_longest(text, out);
  else
    apply_per_grapheme(text, out);
  return out;
}

std::string base64_decode(std::string_view text, const std::string& what) {
  std::string out;
  uint32_t bits = 0;
  int n_bits = 0;
  for (const char ch : text) {
    if (ch == '=') break;
    int v = -1;
    if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
    else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
    else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
    else if (ch == '+') v = 62;
    else if (ch == '/') v = 63;
    require(v >= 0, what + ": '" + std::string(1, ch) + "' is not a base64 character");
    bits = (bits << 6) | uint32_t(v);
    n_bits += 6;
    if (n_bits >= 8) {
      n_bits -= 8;
      out.push_back(char((bits >> n_bits) & 0xff));
    }
  }
  return out;
}

}  // namespace vkllm
