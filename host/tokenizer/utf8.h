#pragma once
// UTF-8 helpers shared by the tokenizers and the streaming decoder.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vkllm::utf8 {

// Length of the sequence a lead byte starts (1 for continuation or invalid bytes, so that
// malformed input still advances one byte at a time).
inline size_t sequence_length(uint8_t lead) {
  if (lead < 0x80) return 1;
  if ((lead & 0xE0) == 0xC0) return 2;
  if ((lead & 0xF0) == 0xE0) return 3;
  if ((lead & 0xF8) == 0xF0) return 4;
  return 1;
}

// Length of the well-formed character at s[i] (shortest form, no surrogates, at most
// U+10FFFF), or 0 where the bytes there are not one.
size_t valid_length(std::string_view s, size_t i);

// The codepoint at s[i], advancing i past it; a byte that starts no well-formed character is
// returned as itself (a value below 256) and advances one byte.
uint32_t decode(std::string_view s, size_t& i);

// The character that ends at s[end]: its codepoint, with `start` set to where it begins; a byte
// that ends no well-formed character is returned as itself. end > 0.
uint32_t decode_before(std::string_view s, size_t end, size_t& start);

// Length of the longest prefix of `s` that ends on a character boundary: a trailing lead byte
// whose continuation bytes have not arrived yet is left out.
size_t complete_prefix(std::string_view s);

std::string encode(uint32_t codepoint);
void append(std::string& out, uint32_t codepoint);

}  // namespace vkllm::utf8
