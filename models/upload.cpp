#include "models/upload.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "host/half.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

// The index of the first value whose exponent bits are all ones (NaN or infinity), or -1.
int64_t first_non_finite(StoredType type, int64_t count, const uint8_t* data) {
  if (type == StoredType::F32) {
    for (int64_t i = 0; i < count; ++i) {
      uint32_t bits;
      std::memcpy(&bits, data + 4 * i, 4);
      if ((bits & 0x7f800000u) == 0x7f800000u) return i;
    }
    return -1;
  }
  const uint16_t exponent = type == StoredType::F16 ? 0x7c00 : 0x7f80;
  for (int64_t i = 0; i < count; ++i) {
    uint16_t h;
    std::memcpy(&h, data + 2 * i, 2);
    if ((h & exponent) == exponent) return i;
  }
  return -1;
}

}  // namespace

Tensor upload_dense(Device& device, StoredType type, int64_t rows, int64_t cols, const uint8_t* data, const std::string& name) {
  if (const int64_t at = first_non_finite(type, rows * cols, data); at >= 0)
    throw Error("tensor '" + name + "' holds NaN or infinity (row " + std::to_string(at / std::max<int64_t>(cols, 1)) +
                ", column " + std::to_string(at % std::max<int64_t>(cols, 1)) + "): the file is corrupt");
  if (type == StoredType::BF16) {
    const std::vector<float> wide = dense_values(type, rows * cols, data);
    Tensor out = device.tensor(DType::F32, rows, cols, name);
    device.upload(out, wide.data());
    return out;
  }
  Tensor out = device.tensor(type == StoredType::F32 ? DType::F32 : DType::F16, rows, cols, name);
  device.upload(out, data);
  return out;
}

std::vector<float> dense_values(StoredType type, int64_t count, const uint8_t* data) {
  std::vector<float> out(static_cast<size_t>(count));
  for (size_t i = 0; i < out.size(); ++i) {
    if (type == StoredType::F32) {
      std::memcpy(&out[i], data + 4 * i, 4);
      continue;
    }
    uint16_t h;
    std::memcpy(&h, data + 2 * i, 2);
    if (type == StoredType::F16) {
      out[i] = f16_to_f32(h);
    } else {
      const uint32_t bits = uint32_t(h) << 16;
      std::memcpy(&out[i], &bits, 4);
    }
  }
  return out;
}

}  // namespace vkllm
