#pragma once
// GPT-2's byte-level alphabet: printable bytes stand for themselves, the others for the
// codepoints from 256 on, so every byte sequence is a string of visible characters. Byte-level
// BPE vocabularies and merges are written in it.
#include <cstdint>
#include <string>
#include <unordered_map>

namespace vkllm {

struct ByteAlphabet {
  std::string of_byte[256];                      // UTF-8 of the character standing for each byte
  std::unordered_map<uint32_t, uint8_t> byte_of;  // codepoint -> byte
  ByteAlphabet();
};
const ByteAlphabet& byte_alphabet();

}  // namespace vkllm
