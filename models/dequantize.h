#pragma once
// Host dequantization of GGUF tensor data: the reference of the block-format kernels, and the
// load path of block-format tensors that an op reads as plain values (not weights or embeddings).
#include <cstdint>
#include <vector>

#include "models/gguf.h"

namespace vkllm {

// True for the block types dequantize() understands (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K).
bool can_dequantize(uint32_t type);
// Every tensor type the loaders accept, for error messages.
const char* supported_types();
// The tensor's values as f32, in storage order.
std::vector<float> dequantize(const GgufTensor& t);

}  // namespace vkllm
