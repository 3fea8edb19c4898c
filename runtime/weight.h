#pragma once
// A weight matrix [rows, cols] for ops::matmul: plain (f32 or f16 values) or Q8_0. Q8_0 is
// stored as two row-aligned tensors so it splits by rows like any other: the int8 quants
// packed four to a 32-bit word (I32 [rows, cols / 4]) and one f16 scale per 32 values
// (F16 [rows, cols / 32]). Each weight costs 1.0625 bytes, as in GGUF.
#include <cstdint>
#include <span>
#include <string_view>

#include "runtime/tensor.h"

namespace vkllm {

class Device;

struct Weight {
  Tensor values;  // f32/f16 values, or packed Q8_0 quants
  Tensor scales;  // Q8_0 only

  bool q8_0() const { return scales.storage != nullptr; }
  int64_t rows() const { return values.rows; }
  int64_t cols() const { return q8_0() ? values.cols * 4 : values.cols; }

  // Rows [first, first + count): a view, as for a fused q/k/v matrix split by rows.
  Weight slice_rows(int64_t first, int64_t count) const {
    return Weight{values.slice_rows(first, count), q8_0() ? scales.slice_rows(first, count) : Tensor{}};
  }

  static Weight plain(Tensor t) { return Weight{std::move(t), {}}; }
  // From GGUF Q8_0 blocks (34 bytes: f16 scale, 32 int8), rows x cols with cols % 32 == 0.
  static Weight from_q8_0_blocks(Device& d, int64_t rows, int64_t cols, std::span<const uint8_t> blocks,
                                 std::string_view name);
};

}  // namespace vkllm
