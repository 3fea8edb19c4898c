#pragma once
// The Llama family (llama, qwen2, ...) as a graph builder: token embedding, pre-norm attention
// (optional q/k/v biases) with RoPE over the KV cache, SwiGLU feed-forward, final norm and
// output projection.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "models/model.h"
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
  // Per layer: attention window in positions, 0 for full attention (Mistral, Qwen2 with
  // use_sliding_window). Empty: every layer is full.
  std::vector<int> sliding_window;
  int head_dim() const { return dim / n_heads; }
  void validate() const;
};

struct LlamaLayer {
  Tensor attn_norm;   // norms [1, dim]; projections [out, in]
  StackedWeight qkv;  // [q; k; v]: [dim + 2 kv_dim, dim]
  Tensor bqkv;        // optional [1, dim + 2 kv_dim] biases (Qwen2); absent: no storage
  Weight wo;
  Tensor ffn_norm;
  StackedWeight gate_up;  // [gate; up]: [2 hidden, dim]
  Weight w_down;
};

struct LlamaWeights {
  Weight token_embd;
  Tensor output_norm;
  Weight output;  // may share token_embd's storage (tied)
  std::vector<LlamaLayer> layers;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

class LlamaModel : public Model {
 public:
  LlamaModel(Device& device, LlamaConfig config, LlamaWeights weights, std::string arch = "llama");
  const LlamaConfig& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;
  bool batches_sequences() const override { return true; }

 private:
  void record(Step& s, KvCache& cache, int64_t n) override;

  LlamaConfig config_;
  LlamaWeights w_;
  RopeTable rope_table_;
};

// The Llama family (llama, qwen2) from any format: the description's tensors and hyperparameters.
std::unique_ptr<Model> load_llama(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
