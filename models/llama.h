#pragma once
// The Llama family (llama, qwen2, ...) as a graph builder: token embedding, pre-norm attention
// (optional q/k/v biases) with RoPE over the
// KV cache, SwiGLU feed-forward, final norm and output projection. One recorded graph per
// (cache, token count) is replayed; step values carry the write slot and the key count.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/rope.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm {

class Device;

struct LlamaConfig {
  int dim = 0, hidden = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, vocab = 0;
  int context = 0;  // positions the model supports
  float norm_eps = 1e-5f;
  RopeConfig rope;  // head_dim = dim / n_heads
  int head_dim() const { return dim / n_heads; }
  void validate() const;
};

struct LlamaLayer {
  Tensor attn_norm;  // norms [1, dim]; projections [out, in]
  Weight wq, wk, wv, wo;
  Tensor ffn_norm;
  Weight w_gate, w_up, w_down;
  Tensor bq, bk, bv;                  // optional [1, out] biases (Qwen2); absent: no storage
};

struct LlamaWeights {
  Tensor token_embd, output_norm;
  Weight output;  // may share token_embd's storage (tied)
  std::vector<LlamaLayer> layers;
};

class LlamaModel {
 public:
  LlamaModel(Device& device, LlamaConfig config, LlamaWeights weights);
  const LlamaConfig& config() const { return config_; }
  Device& device() { return device_; }

  // A cache shaped for this model.
  KvCacheConfig cache_config(int64_t capacity, DType dtype = DType::F32) const;

  // Appends the tokens at `positions` to the cache and returns their logits, [n][vocab] row-major.
  // Token ids must be < vocab and positions < context; the cache enforces its own invariants.
  std::vector<float> forward(KvCache& cache, std::span<const int32_t> tokens, std::span<const int32_t> positions);

 private:
  struct Step {
    std::weak_ptr<const void> cache_alive;
    std::unique_ptr<Graph> graph;
    Tensor tokens, positions, logits;
    std::vector<Tensor> scratch;
  };
  Step& step_for(KvCache& cache, int64_t n);

  Device& device_;
  LlamaConfig config_;
  LlamaWeights w_;
  RopeTable rope_table_;
  std::map<std::pair<uint64_t, int64_t>, Step> steps_;  // by (cache id, token count)
};

}  // namespace vkllm
