#include "tests/ops/blocks.h"

#include <algorithm>
#include <cmath>
#include <random>

#include "host/half.h"
#include "models/dequantize.h"
#include "tests/test_util.h"

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

namespace vkllm::test {

void check_block_product(const ref::Mat& got, const ref::Mat& w, const ref::Mat& x, bool int_dot) {
  if (!int_dot) {
    CHECK(max_rel_diff(got, ref::matmul(w, x)) <= 1e-4f);
    return;
  }
  // x as quantize_q8.comp quantizes it, and the block scales.
  ref::Mat xq = x;
  std::vector<float> scales;
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t b = 0; b < x.cols / 32; ++b) {
      float amax = 0;
      for (int64_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(x.at(r, 32 * b + j)));
      const float d = amax / 127.0f, id = d > 0 ? 1.0f / d : 0.0f;
      for (int64_t j = 0; j < 32; ++j) xq.at(r, 32 * b + j) = d * std::clamp(std::nearbyint(x.at(r, 32 * b + j) * id), -127.0f, 127.0f);
      scales.push_back(d);
    }
  const ref::Mat want = ref::matmul(w, xq);
  int64_t outside = 0;
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t i = 0; i < w.rows; ++i) {
      // Slack: one element per block one level off (the device's division may round otherwise).
      double slack = 0;
      for (int64_t b = 0; b < x.cols / 32; ++b) {
        float wmax = 0;
        for (int64_t j = 0; j < 32; ++j) wmax = std::max(wmax, std::fabs(w.at(i, 32 * b + j)));
        slack += double(scales[size_t(r * (x.cols / 32) + b)]) * wmax;
      }
      if (std::fabs(got.at(r, i) - want.at(r, i)) > 1e-4 * (1 + std::fabs(want.at(r, i))) + slack) ++outside;
    }
  CHECK(outside == 0);
}

}  // namespace vkllm::test
