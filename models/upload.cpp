#include "models/upload.h"

#include <cstring>
#include <vector>

#include "host/half.h"
#include "runtime/device.h"

namespace vkllm {

Tensor upload_dense(Device& device, StoredType type, int64_t rows, int64_t cols, const uint8_t* data, const std::string& name) {
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
