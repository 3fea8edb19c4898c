#include "host/half.h"

#include <glm/gtc/packing.hpp>

namespace vkllm {

uint16_t f32_to_f16(float v) { return glm::packHalf1x16(v); }
float f16_to_f32(uint16_t h) { return glm::unpackHalf1x16(h); }

std::vector<uint16_t> to_f16(std::span<const float> v) {
  std::vector<uint16_t> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f32_to_f16(v[i]);
  return out;
}

std::vector<float> from_f16(std::span<const uint16_t> v) {
  std::vector<float> out(v.size());
  for (size_t i = 0; i < v.size(); ++i) out[i] = f16_to_f32(v[i]);
  return out;
}

}  // namespace vkllm
