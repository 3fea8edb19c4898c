#include "host/tokenizer/utf8.h"

namespace vkllm::utf8 {

size_t valid_length(std::string_view s, size_t i) {
  const uint8_t lead = uint8_t(s[i]);
  if (lead < 0x80) return 1;
  const size_t len = sequence_length(lead);
  if (len == 1 || i + len > s.size()) return 0;
  uint32_t cp = lead & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) {
    const uint8_t b = uint8_t(s[i + k]);
    if ((b & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (b & 0x3F);
  }
  static constexpr uint32_t kSmallest[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kSmallest[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

uint32_t decode(std::string_view s, size_t& i) {
  const size_t len = valid_length(s, i);
  if (len == 0) return uint8_t(s[i++]);
  const uint8_t lead = uint8_t(s[i]);
  uint32_t cp = len == 1 ? lead : lead & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

uint32_t decode_before(std::string_view s, size_t end, size_t& start) {
  for (size_t back = 1; back <= 4 && back <= end; ++back)
    if (valid_length(s, end - back) == back) {
      start = end - back;
      size_t i = start;
      return decode(s, i);
    }
  start = end - 1;
  return uint8_t(s[start]);
}

size_t complete_prefix(std::string_view s) {
  // A character is at most 4 bytes, so only the last 3 bytes can start an unfinished one.
  const size_t n = s.size();
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    const uint8_t b = uint8_t(s[n - back]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    const size_t need = sequence_length(b);
    return need > back ? n - back : n;
  }
  return n;
}

void append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string encode(uint32_t cp) {
  std::string out;
  append(out, cp);
  return out;
}

}  // namespace vkllm::utf8
