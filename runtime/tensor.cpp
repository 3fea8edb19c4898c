#include "runtime/tensor.h"

#include "runtime/error.h"

namespace vkllm {

uint32_t dtype_size(DType t) {
  switch (t) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::I32: return 4;
    case DType::Q8_0: return 4;
    case DType::Q4_0: return 4;
  }
  return 0;
}

const char* dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "f32";
    case DType::F16: return "f16";
    case DType::I32: return "i32";
    case DType::Q8_0: return "q8_0";
    case DType::Q4_0: return "q4_0";
  }
  return "?";
}

bool block_rows(DType t) { return t == DType::Q8_0 || t == DType::Q4_0; }

int64_t row_units(DType t, int64_t values) {
  if (!block_rows(t)) return values;
  if (values % 32 != 0)
    throw Error(std::string(dtype_name(t)) + " rows need a multiple of 32 values, not " + std::to_string(values));
  const int64_t blocks = values / 32;
  return blocks * (t == DType::Q8_0 ? 8 : 4) + (blocks + 1) / 2;
}

Tensor Tensor::slice_rows(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > rows)
    throw Error("row slice [" + std::to_string(first) + ", " + std::to_string(first + count) + ") is outside " + describe());
  Tensor t = *this;
  t.offset = offset + first * row_stride;
  t.rows = count;
  return t;
}

Tensor Tensor::slice_cols(int64_t first, int64_t count) const {
  if (first < 0 || count < 0 || first + count > cols)
    throw Error("column slice [" + std::to_string(first) + ", " + std::to_string(first + count) + ") is outside " + describe());
  Tensor t = *this;
  t.offset = offset + first;
  t.cols = count;
  return t;
}

std::string Tensor::describe() const {
  return (storage ? "'" + storage->name() + "' " : std::string("'(null)' ")) + dtype_name(dtype) + "[" +
         std::to_string(rows) + " x " + std::to_string(cols) + "]";
}

}  // namespace vkllm
