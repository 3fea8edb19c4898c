#pragma once
// Host quantization to GGUF block formats (as llama.cpp quantizes), for synthetic models and tests.
#include <cstdint>
#include <span>
#include <vector>

namespace vkllm {

// Q8_0: per 32 values, scale d = max|x| / 127 (stored f16) and q = round(x / d). values.size() % 32 == 0.
std::vector<uint8_t> quantize_q8_0(std::span<const float> values);

}  // namespace vkllm
