#pragma once
// A Tensor is a 2-D view (rows x cols, row-major, with a row stride) onto a Buffer.
// Higher-rank data folds its outer dimensions into rows. Views share the buffer.
#include <cstdint>
#include <memory>
#include <string>

#include "runtime/memory.h"

namespace vkllm {

enum class DType : uint8_t { F32, F16, I32 };
uint32_t dtype_size(DType t);
const char* dtype_name(DType t);

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
