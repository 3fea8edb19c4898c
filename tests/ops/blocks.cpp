#include "tests/ops/blocks.h"

#include <cmath>
#include <random>

#include "host/half.h"
#include "models/dequantize.h"

namespace vkllm::test {

const std::vector<BlockFormatCase>& block_format_cases() {
  static const std::vector<BlockFormatCase> cases{{WeightFormat::Q8_0, GgmlType::Q8_0, {0}, 127.0f},
                                                  {WeightFormat::Q4_0, GgmlType::Q4_0, {0}, 8.0f},
                                                  {WeightFormat::Q4_K, GgmlType::Q4_K, {0, 2}, 63.0f * 15.0f},
                                                  {WeightFormat::Q5_K, GgmlType::Q5_K, {0, 2}, 63.0f * 31.0f},
                                                  {WeightFormat::Q6_K, GgmlType::Q6_K, {208}, 128.0f * 32.0f}};
  return cases;
}

std::vector<uint8_t> random_blocks(const BlockFormatCase& f, int64_t rows, int64_t cols, uint32_t seed) {
  const BlockLayout l = block_layout(f.format);
  std::mt19937 rng(seed);
  std::vector<uint8_t> b(size_t(rows * cols / l.values * l.file_bytes));
  for (auto& v : b) v = uint8_t(rng());
  std::uniform_real_distribution<float> unit(0.2f, 1.0f);
  for (size_t at = 0; at < b.size(); at += size_t(l.file_bytes))
    for (int o : f.scale_bytes) {
      const uint16_t h = f32_to_f16(unit(rng) / (f.largest_product * std::sqrt(float(cols))));
      b[at + size_t(o)] = uint8_t(h & 0xff);
      b[at + size_t(o) + 1] = uint8_t(h >> 8);
    }
  return b;
}

ref::Mat dequantized(const BlockFormatCase& f, const std::vector<uint8_t>& blocks, int64_t rows, int64_t cols) {
  const GgufTensor t{.name = "w", .dims = {uint64_t(cols), uint64_t(rows)}, .type = uint32_t(f.type), .offset = 0,
                     .bytes = blocks.size(), .data = blocks.data()};
  ref::Mat m(rows, cols);
  m.v = dequantize(t);
  return m;
}

}  // namespace vkllm::test
