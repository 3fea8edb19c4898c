#pragma once
// A weight matrix [rows, cols] for ops::matmul: plain (f32 or f16 values) or in one of GGUF's
// block formats, read natively by the matvec kernels. Block formats are stored as row-aligned
// tensors of 32-bit words, so they split by rows like any other tensor, and take the file's
// bytes (within a few per cent):
//   Q8_0  values: int8 quants, 32 bytes per block of 32;  scales: one f16 per block
//   Q4_0  values: 16 bytes of nibbles per block of 32;    scales: one f16 per block
//   Q4_K  values: the 144-byte super-blocks of 256 as stored (f16 d, dmin, 12 bytes of scales, nibbles)
//   Q5_K  values: the 176-byte super-blocks of 256 as stored (d, dmin, scales, high bits, nibbles)
//   Q6_K  values: the first 208 bytes of each 210-byte super-block (ql, qh, int8 scales);
//         scales: its f16 d (stored last in GGUF, split off so blocks stay 16-byte aligned)
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "runtime/tensor.h"

namespace vkllm {

class Device;

enum class WeightFormat : uint8_t { Plain, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K };

const char* weight_format_name(WeightFormat f);

struct BlockLayout {
  int64_t values;      // weights per block
  int64_t file_bytes;  // bytes per block in GGUF
  int64_t words;       // 32-bit words per block in `values`
  bool split_scale;    // one f16 per block in `scales`
};
BlockLayout block_layout(WeightFormat f);  // for block formats only

struct Weight {
  Tensor values;  // f32/f16 values, or the blocks' words
  Tensor scales;  // block formats with split_scale only
  WeightFormat format = WeightFormat::Plain;
  int64_t block_cols = 0;  // block formats: the matrix's columns

  bool quantized() const { return format != WeightFormat::Plain; }
  int64_t rows() const { return values.rows; }
  int64_t cols() const { return quantized() ? block_cols : values.cols; }

  // Rows [first, first + count): a view, as for a fused q/k/v matrix split by rows.
  Weight slice_rows(int64_t first, int64_t count) const {
    Weight w = *this;
    w.values = values.slice_rows(first, count);
    if (scales.storage) w.scales = scales.slice_rows(first, count);
    return w;
  }

  static Weight plain(Tensor t) { return Weight{std::move(t), {}, WeightFormat::Plain, 0}; }
  // From GGUF blocks of `format`, rows x cols with cols a whole number of blocks.
  static Weight from_blocks(Device& d, WeightFormat format, int64_t rows, int64_t cols, std::span<const uint8_t> blocks,
                            std::string_view name);
};

// Weights that read the same input and whose outputs are adjacent columns of one result
// (q|k|v, gate|up). Parts that share a format and width are stored as one matrix, so one
// product computes them all; a part in another format (llama.cpp's mixes give attn_v more bits
// on some layers) stays apart.
struct StackedWeight {
  std::vector<Weight> parts;  // in output order; adjacent parts differ in format

  int64_t rows() const;
  int64_t cols() const { return parts.empty() ? 0 : parts[0].cols(); }
  // Rows [first, first + count) as views: T5Gemma 2 projects the encoder's outputs with the
  // k and v rows of its decoder's [q; k; v].
  StackedWeight slice_rows(int64_t first, int64_t count) const;
};

// Stacks `parts` (same cols) as StackedWeight describes, copying on the device; the parts'
// own storage is released with them.
StackedWeight stack_rows(Device& d, std::vector<Weight> parts, std::string_view name);
// Rows [1, n_i] side by side as one [1, sum n_i] (a stacked weight's biases); all absent
// (no storage): absent.
Tensor stack_cols(Device& d, const std::vector<Tensor>& rows, std::string_view name);

}  // namespace vkllm
