#pragma once
// Host quantization to GGUF block formats (as llama.cpp quantizes), for synthetic models and tests.
#include <cstdint>
#include <span>
#include <vector>

namespace vkllm {

// Q8_0: per 32 values, scale d = max|x| / 127 (stored f16) and q = round(x / d). values.size() % 32 == 0.
std::vector<uint8_t> quantize_q8_0(std::span<const float> values);

// Q4_0: per 32 values, d = (the value of largest magnitude) / -8 and q = round(x / d) + 8 in 0..15.
std::vector<uint8_t> quantize_q4_0(std::span<const float> values);

// The K-quants, per super-block of 256 (values.size() % 256 == 0). Q4_K and Q5_K: per group of
// 32 a scale and a min from the group's range, stored as 6-bit multiples of the super-block's
// f16 d and dmin; Q6_K: per group of 16 an int8 multiple of d. Plain range fits, not llama.cpp's
// error-minimizing search: valid blocks with errors within a small factor of llama.cpp's.
std::vector<uint8_t> quantize_q4_k(std::span<const float> values);
std::vector<uint8_t> quantize_q5_k(std::span<const float> values);
std::vector<uint8_t> quantize_q6_k(std::span<const float> values);

}  // namespace vkllm
