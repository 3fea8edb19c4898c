#include "host/tokenizer/unicode.h"

#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include <vector>

#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm::unicode {

namespace {

// Calls valid(run) for each maximal well-formed UTF-8 run and invalid(byte) for the bytes
// between them, in order.
template <typename Valid, typename Invalid>
void for_each_run(std::string_view text, Valid valid, Invalid invalid) {
  size_t start = 0, i = 0;
  while (i < text.size()) {
    const size_t len = utf8::valid_length(text, i);
    if (len > 0) {
      i += len;
      continue;
    }
    if (i > start) valid(text.substr(start, i - start));
    invalid(text[i]);
    start = ++i;
  }
  if (i > start) valid(text.substr(start, i - start));
}

void check(UErrorCode status, const char* what) {
  if (U_FAILURE(status)) throw Error(std::string("unicode: ") + what + " failed (" + u_errorName(status) + ")");
}

std::u16string to_utf16(std::string_view run) {
  std::u16string out(run.size(), u'\0');  // UTF-16 never needs more units than UTF-8 has bytes
  int32_t length = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strFromUTF8(out.data(), int32_t(out.size()), &length, run.data(), int32_t(run.size()), &status);
  check(status, "UTF-8 to UTF-16");
  out.resize(size_t(length));
  return out;
}

void append_utf8(std::string& out, const std::u16string& s) {
  int32_t length = 0;
  UErrorCode status = U_ZERO_ERROR;
  u_strToUTF8(nullptr, 0, &length, s.data(), int32_t(s.size()), &status);
  if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "UTF-16 to UTF-8");
  const size_t at = out.size();
  out.resize(at + size_t(length));
  status = U_ZERO_ERROR;
  u_strToUTF8(out.data() + at, length, nullptr, s.data(), int32_t(s.size()), &status);
  check(status, "UTF-16 to UTF-8");
}

const UNormalizer2* instance(Form form) {
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* n = nullptr;
  switch (form) {
    case Form::NFC: n = unorm2_getNFCInstance(&status); break;
    case Form::NFD: n = unorm2_getNFDInstance(&status); break;
    case Form::NFKC: n = unorm2_getNFKCInstance(&status); break;
    case Form::NFKD: n = unorm2_getNFKDInstance(&status); break;
  }
  check(status, "loading a normalizer");
  return n;
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (uint8_t(c) >= 0x80) return false;
  return true;
}

}  // namespace

std::string normalize(std::string_view text, Form form) {
  if (is_ascii(text)) return std::string(text);  // ASCII is invariant under every form
  const UNormalizer2* n = instance(form);
  std::string out;
  out.reserve(text.size());
  for_each_run(
      text,
      [&](std::string_view run) {
        const std::u16string in = to_utf16(run);
        UErrorCode status = U_ZERO_ERROR;
        const int32_t need = unorm2_normalize(n, in.data(), int32_t(in.size()), nullptr, 0, &status);
        if (status != U_BUFFER_OVERFLOW_ERROR) check(status, "normalization");
        std::u16string result(size_t(need), u'\0');
        status = U_ZERO_ERROR;
        unorm2_normalize(n, in.data(), int32_t(in.size()), result.data(), need, &status);
        check(status, "normalization");
        append_utf8(out, result);
      },
      [&](char byte) { out.push_back(byte); });
  return out;
}

std::string lowercase(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const uint8_t b = uint8_t(text[i]);
    if (b < 0x80) {
      out.push_back(b >= 'A' && b <= 'Z' ? char(b + 32) : char(b));
      ++i;
      continue;
    }
    const size_t len = utf8::valid_length(text, i);
    if (len == 0) {
      out.push_back(char(b));
      ++i;
      continue;
    }
    const std::u16string c = to_utf16(text.substr(i, len));
    UChar lower[8];  // full mappings produce at most 3 characters
    UErrorCode status = U_ZERO_ERROR;
    const int32_t n = u_strToLower(lower, 8, c.data(), int32_t(c.size()), "", &status);
    check(status, "lowercase");
    append_utf8(out, std::u16string(lower, size_t(n)));
    i += len;
  }
  return out;
}

std::vector<size_t> grapheme_ends(std::string_view text) {
  std::vector<size_t> ends;
  size_t at = 0;  // where the current run starts
  for_each_run(
      text,
      [&](std::string_view run) {
        UErrorCode status = U_ZERO_ERROR;
        UText* ut = utext_openUTF8(nullptr, run.data(), int64_t(run.size()), &status);
        UBreakIterator* it = ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &status);
        ubrk_setUText(it, ut, &status);
        if (U_SUCCESS(status))
          for (int32_t end = ubrk_next(it); end != UBRK_DONE; end = ubrk_next(it)) ends.push_back(at + size_t(end));
        ubrk_close(it);
        utext_close(ut);
        check(status, "grapheme clusters");
        at += run.size();
      },
      [&](char) { ends.push_back(++at); });
  return ends;
}

bool is_whitespace(uint32_t cp) { return u_isUWhiteSpace(UChar32(cp)); }

bool is_word(uint32_t cp) {
  return cp == '_' || u_isUAlphabetic(UChar32(cp)) || (U_GET_GC_MASK(UChar32(cp)) & (U_GC_ND_MASK | U_GC_NL_MASK | U_GC_NO_MASK)) != 0;
}

}  // namespace vkllm::unicode
