#pragma once
// SentencePiece's precompiled normalization rules (the "precompiled_charsmap" of T5's and
// other Unigram vocabularies): a Darts double-array trie of UTF-8 sequences whose values index
// their replacements in a blob of NUL-terminated strings. Serialized as a little-endian uint32
// trie size in bytes, the trie's 32-bit units, then the strings.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkllm {

class PrecompiledCharsmap {
 public:
  // How rules are found, which differs between the two implementations models ship for.
  enum class Matching {
    // SentencePiece and llama.cpp (GGUF): at each position, the longest sequence with a rule.
    Longest,
    // Hugging Face tokenizers (tokenizer.json): a grapheme cluster under 6 bytes is replaced
    // whole by the rule of its shortest prefix that has one; other clusters (and clusters
    // without such a prefix) character by character.
    PerGrapheme,
  };
  // Error naming `source` when the blob is cut short or its trie points outside it.
  PrecompiledCharsmap(std::string_view blob, Matching matching, const std::string& source);

  // The text with the rules applied; characters without one are kept.
  std::string apply(std::string_view text) const;

 private:
  // The replacement of the longest (or shortest) prefix of `text` the trie holds and that
  // prefix's length.
  bool match(std::string_view text, bool longest, std::string_view& replacement, size_t& length) const;
  void apply_longest(std::string_view text, std::string& out) const;
  void apply_per_grapheme(std::string_view text, std::string& out) const;

  Matching matching_;

  std::vector<uint32_t> units_;
  std::string strings_;
};

// Base64 (RFC 4648, with padding), as tokenizer.json stores the charsmap; Error naming `what`
// for a character outside the alphabet.
std::string base64_decode(std::string_view text, const std::string& what);

}  // namespace vkllm
