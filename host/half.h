#pragma once
// IEEE binary16 conversion on the host (round to nearest even).
#include <cstdint>
#include <span>
#include <vector>

namespace vkllm {

uint16_t f32_to_f16(float v);
float f16_to_f32(uint16_t h);
std::vector<uint16_t> to_f16(std::span<const float> v);
std::vector<float> from_f16(std::span<const uint16_t> v);

}  // namespace vkllm
