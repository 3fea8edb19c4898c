#pragma once
// The Unicode operations tokenizer normalizers need, from ICU: normalization forms, lowercase
// and character properties. Text is UTF-8; bytes that are not well-formed UTF-8 pass through
// unchanged (a byte-level tokenizer still encodes them).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkllm::unicode {

enum class Form { NFC, NFD, NFKC, NFKD };

std::string normalize(std::string_view text, Form form);
// Each character's full lowercase mapping on its own, without context (as Rust's
// char::to_lowercase, which Hugging Face's Lowercase uses): "İ" -> "i̇", "Σ" -> "σ".
std::string lowercase(std::string_view text);

// Where each extended grapheme cluster ends (byte offsets, ascending, the last text.size());
// a byte that is not well-formed UTF-8 is a cluster of its own.
std::vector<size_t> grapheme_ends(std::string_view text);

bool is_whitespace(uint32_t codepoint);  // the White_Space property
bool is_word(uint32_t codepoint);        // alphabetic, numeric or '_'

}  // namespace vkllm::unicode
