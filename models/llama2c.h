#pragma once
// llama2.c checkpoints (.bin): a header of 7 int32 (dim, hidden_dim, n_layers, n_heads,
// n_kv_heads, vocab_size, seq_len; a negative vocab_size means a separate classifier), then
// float32 weights in a fixed order, matrices [out, in]. RoPE pairs are interleaved, theta 10000.
#include <cstdint>
#include <memory>
#include <string>

#include "models/llama.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_llama2c(Device& device, const std::string& path);

class MappedFile;

// The header, checked against the file's size (Error naming the field or the sizes).
struct Llama2cHeader {
  int dim = 0, hidden = 0, layers = 0, heads = 0, kv_heads = 0, vocab = 0, context = 0;
  bool tied = true;                // the classifier is the embedding
  uint64_t legacy_rope_bytes = 0;  // the legacy RoPE tables before the classifier, where present
};
Llama2cHeader read_llama2c_header(const MappedFile& file, const std::string& path);

}  // namespace vkllm
