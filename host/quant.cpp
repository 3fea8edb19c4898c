#include "host/quant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "host/half.h"

namespace vkllm {

std::vector<uint8_t> quantize_q8_0(std::span<const float> values) {
  if (values.size() % 32) throw std::invalid_argument("quantize_q8_0: not a whole number of 32-value blocks");
  std::vector<uint8_t> blocks;
  blocks.reserve(values.size() / 32 * 34);
  for (size_t b = 0; b < values.size(); b += 32) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(values[b + j]));
    const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    blocks.push_back(uint8_t(dh & 0xff));
    blocks.push_back(uint8_t(dh >> 8));
    for (size_t j = 0; j < 32; ++j)
      blocks.push_back(uint8_t(int8_t(std::clamp(int(std::lround(values[b + j] * inv)), -127, 127))));
  }
  return blocks;
}

}  // namespace vkllm
