#pragma once
// Llama-family models from GGUF files in llama.cpp's conventions: arch "llama" (interleaved
// RoPE pairs, as llama.cpp's converter stores Q/K) and "qwen2" (q/k/v biases, half-split pairs).
#include <memory>

#include "models/gguf.h"
#include "models/llama.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_llama_gguf(Device& device, const GgufFile& file);

}  // namespace vkllm
