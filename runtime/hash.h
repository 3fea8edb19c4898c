#pragma once
// A 64-bit FNV-1a-style hash over little-endian 64-bit words, for checksums and fingerprints.
// Each step (xor a word, multiply by an odd prime) is a bijection of the state, so changing any
// one word always changes the result: a flipped byte is never missed. It is not cryptographic.
// The result depends only on the bytes added, not on how they were split into add() calls.
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace vkllm {

class Hash64 {
 public:
  void add(const void* data, size_t bytes) {
    auto* p = static_cast<const uint8_t*>(data);
    while (bytes > 0 && pending_ > 0) take(*p++), --bytes;
    for (; bytes >= 8; p += 8, bytes -= 8) {
      uint64_t w;
      std::memcpy(&w, p, 8);
      mix(w);
    }
    while (bytes-- > 0) take(*p++);
  }
  void add_u64(uint64_t v) { add(&v, 8); }
  // Length first, so that ("ab", "c") and ("a", "bc") differ.
  void add_text(std::string_view s) {
    add_u64(s.size());
    add(s.data(), s.size());
  }
  template <class T>
  void add_span(std::span<const T> s) {
    add_u64(s.size());
    add(s.data(), s.size_bytes());
  }
  // The hash of everything added so far (a partial last word is zero-padded).
  uint64_t value() const {
    uint64_t h = state_;
    if (pending_ > 0) h = (h ^ word_) * kPrime;
    return (h ^ (total_ + uint64_t(pending_))) * kPrime;
  }

 private:
  static constexpr uint64_t kPrime = 0x100000001b3ull;
  void mix(uint64_t w) {
    state_ = (state_ ^ w) * kPrime;
    total_ += 8;
  }
  void take(uint8_t b) {
    word_ |= uint64_t(b) << (8 * pending_);
    if (++pending_ == 8) {
      mix(word_);
      word_ = 0;
      pending_ = 0;
    }
  }
  uint64_t state_ = 0xcbf29ce484222325ull, word_ = 0, total_ = 0;
  int pending_ = 0;
};

}  // namespace vkllm
