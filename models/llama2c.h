#pragma once
// llama2.c checkpoints (.bin): a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier), then
// float32 weights in a fixed order, matrices [out, in]. RoPE pairs are interleaved, theta 10000.
#include <memory>
#include <string>

#include "models/llama.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_llama2c(Device& device, const std::string& path);

}  // namespace vkllm
