#include "host/tokenizer/byte_alphabet.h"

#include "host/tokenizer/utf8.h"

namespace vkllm {

ByteAlphabet::ByteAlphabet() {
  uint32_t next = 256;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    const uint32_t cp = printable ? b : next++;
    of_byte[b] = utf8::encode(cp);
    byte_of[cp] = uint8_t(b);
  }
}

const ByteAlphabet& byte_alphabet() {
  static const ByteAlphabet a;
  return a;
}

}  // namespace vkllm
