#pragma once
// Uploads a dense matrix stored as F32, F16 or BF16 (in GGUF or safetensors) as a tensor of
// [rows, cols]: F32 and F16 as stored, BF16 widened to F32 (it is the top half of an f32).
// A NaN or infinite value is refused with an Error naming the tensor: no trained model holds
// one, and it would turn every logit into NaN.
#include <cstdint>
#include <string>
#include <vector>

#include "runtime/tensor.h"

namespace vkllm {

class Device;

enum class StoredType { F32, F16, BF16 };

Tensor upload_dense(Device& device, StoredType type, int64_t rows, int64_t cols, const uint8_t* data, const std::string& name);
// The count values at data as f32, for tensors the loader transforms on the host.
std::vector<float> dense_values(StoredType type, int64_t count, const uint8_t* data);

}  // namespace vkllm
