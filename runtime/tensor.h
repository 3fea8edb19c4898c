#pragma once
// A Tensor is a 2-D view (rows x cols, row-major, with a row stride) onto a Buffer.
// Higher-rank data folds its outer dimensions into rows. Views share the buffer.
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/memory.h"

namespace vkllm {

// Q8_0 and Q4_0 hold rows of values quantized in blocks of 32, as KV caches store them: a row
// of W values is W / 4 (Q8_0) or W / 8 (Q4_0) words of quants (value e in byte e % 4, or
// nibble e % 8, of word e / 4 or e / 8; Q4_0's nibbles are q + 8), then the blocks' f16 scales
// two to a word (block b in half b % 2), as GGUF's q8_0 and q4_0 round them. Their elements
// are those 32-bit words: cols, offsets and strides count words (row_units gives a row's).
enum class DType : uint8_t { F32, F16, I32, Q8_0, Q4_0 };
uint32_t dtype_size(DType t);  // bytes per element (per word for Q8_0 and Q4_0)
const char* dtype_name(DType t);
bool block_rows(DType t);  // Q8_0 or Q4_0
// Elements a row of `values` values takes (values % 32 == 0 for Q8_0 and Q4_0).
int64_t row_units(DType t, int64_t values);

struct Tensor {
  std::shared_ptr<Buffer> storage;
  DType dtype = DType::F32;
  int64_t rows = 0, cols = 0;
  int64_t row_stride = 0;  // elements between the starts of consecutive rows
  int64_t offset = 0;      // elements from the start of the storage

  int64_t numel() const { return rows * cols; }
  bool contiguous() const { return rows <= 1 || row_stride == cols; }
  uint64_t row_byte(int64_t r) const { return uint64_t(offset + r * row_stride) * dtype_size(dtype); }
  uint64_t row_bytes() const { return uint64_t(cols) * dtype_size(dtype); }

  Tensor slice_rows(int64_t first, int64_t count) const;
  Tensor slice_cols(int64_t first, int64_t count) const;
  std::string describe() const;  // "name f32[rows x cols]"
};

}  // namespace vkllm
