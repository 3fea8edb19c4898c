#pragma once
// Host reference implementations of every GPU op, written for clarity (double accumulation
// where it matters), used by the tests and by `vkllm demo`. Matrices are row-major.
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/rope.h"
#include "runtime/tensor.h"  // DType

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
Mat relu(const Mat& x);
Mat gelu_tanh(const Mat& x);
Mat gelu_erf(const Mat& x);

// weight.size() divides x.cols: each row is that many segments, each normalized by itself.
Mat rmsnorm(const Mat& x, std::span<const float> weight, float eps);
Mat layernorm(const Mat& x, std::span<const float> weight, std::span<const float> bias, float eps);

// Softmax over the first n_valid columns of each row; later columns are 0.
Mat softmax(const Mat& x, int64_t n_valid);

Mat get_rows(const Mat& table, std::span<const int32_t> ids);

// Rows of a block type (DType::Q8_0, Q4_0; layout in runtime/tensor.h) as GGUF's q8_0 and
// q4_0 round them: the words x quantizes to, and the values that words hold.
std::vector<uint32_t> quantize_rows(DType t, const Mat& x);
Mat dequantize_rows(DType t, std::span<const uint32_t> words, int64_t rows, int64_t cols);

// y[n, m] = x[n, :] . w[m, :]
Mat matmul(const Mat& w, const Mat& x);

// RoPE in double precision straight from the configuration (not through a table).
// positions[s][t]: position of token t in stream s (2D RoPE has two streams).
Mat rope(const Mat& x, int n_heads, const RopeConfig& config, const std::vector<std::vector<int32_t>>& positions,
         bool unit_magnitude = false);

// T5's relative position bias, [heads * n_q, n_kv]: table [num_buckets, heads] indexed by
// the bucket of key_pos - query_pos through by_distance (ops::relative_position_buckets).
Mat position_bias(const Mat& table, std::span<const int32_t> by_distance, bool bidirectional, std::span<const int32_t> key_pos,
                  std::span<const int32_t> query_pos);

// Naive attention in double precision; the mask rules of ops::AttentionMask.
struct AttentionSpec {
  int n_heads, n_kv_heads, head_dim;
  float scale = 0, softcap = 0;
  int mask = 1;  // 0 none, 1 causal, 2 prefix-LM, 3 sliding window, 4 window both ways
  int prefix = 0, window = 0;
  int window_after = 0;  // mask 4: keys after the query visible while key - query < window_after (0: window)
  int64_t n_kv = -1;             // -1: all rows of k
  int64_t first_query_slot = 0;  // prefix-LM
  const Mat* explicit_mask = nullptr;  // [n_q, n_kv] for every head, or [n_heads * n_q, n_kv]
};
// Returns the output [n_q, n_heads * head_dim]; probs, when given, receives [n_heads * n_q, n_kv].
Mat attention(const Mat& q, const Mat& k, const Mat& v, std::span<const int32_t> key_pos, std::span<const int32_t> query_pos,
              const AttentionSpec& spec, Mat* probs = nullptr);

}  // namespace vkllm::ref
