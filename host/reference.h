#pragma once
// Host reference implementations of every GPU op, written for clarity (double accumulation
// where it matters), used by the tests and by `vkllm demo`. Matrices are row-major.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/rope.h"

namespace vkllm::ref {

struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<float> v;
  Mat() = default;
  Mat(int64_t r, int64_t c) : rows(r), cols(c), v(size_t(r * c)) {}
  float& at(int64_t r, int64_t c) { return v[size_t(r * cols + c)]; }
  float at(int64_t r, int64_t c) const { return v[size_t(r * cols + c)]; }
};

// b is a's shape or one row broadcast over a's rows.
Mat add(const Mat& a, const Mat& b);
Mat mul(const Mat& a, const Mat& b);
Mat scale(const Mat& x, float factor);
Mat silu(const Mat& x);
Mat gelu_tanh(const Mat& x);
Mat gelu_erf(const Mat& x);

Mat rmsnorm(const Mat& x, std::span<const float> weight, float eps);
Mat layernorm(const Mat& x, std::span<const float> weight, std::span<const float> bias, float eps);

// Softmax over the first n_valid columns of each row; later columns are 0.
Mat softmax(const Mat& x, int64_t n_valid);

Mat get_rows(const Mat& table, std::span<const int32_t> ids);

// y[n, m] = x[n, :] . w[m, :]
Mat matmul(const Mat& w, const Mat& x);

// RoPE in double precision straight from the configuration (not through a table).
// positions[s][t]: position of token t in stream s (2D RoPE has two streams).
Mat rope(const Mat& x, int n_heads, const RopeConfig& config, const std::vector<std::vector<int32_t>>& positions,
         bool unit_magnitude = false);

}  // namespace vkllm::ref
