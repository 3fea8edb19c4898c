#pragma once
// Gemma 2 and Gemma 3 (text) as one graph builder: embeddings scaled by sqrt(dim); RMSNorm
// before and after both attention and the feed-forward (GGUF stores the norms' 1 + w); GQA
// attention over the KV cache with RoPE and a query scale from query_pre_attn_scalar; sliding
// windows on all but every n-th layer; a GeGLU (tanh) feed-forward; tied output. Gemma 2
// soft-caps attention logits and the output (every other layer global); Gemma 3 instead
// normalizes each q and k head (QK-norm) and rotates sliding layers with their own RoPE base
// (every 6th layer global).
#include <memory>
#include <vector>

#include "models/model.h"
#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/rope.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm {

struct GemmaConfig {
  int dim = 0, hidden = 0, n_layers = 0, n_heads = 0, n_kv_heads = 0, head_dim = 0, vocab = 0, context = 0;
  float norm_eps = 1e-6f;
  float query_scale = 0.0f;    // multiplies q . k; 1 / sqrt(query_pre_attn_scalar)
  float attn_softcap = 0.0f;   // > 0: scores become c tanh(score / c)
  float final_softcap = 0.0f;  // > 0: logits likewise
  std::vector<int> sliding_window;  // per layer, 0: global
  RopeConfig rope;                  // global layers'
  RopeConfig sliding_rope;          // sliding layers' (Gemma 3: base 10000, no scaling)
  bool qk_norm = false;             // Gemma 3
  const RopeConfig& layer_rope(int l) const { return sliding_window[size_t(l)] > 0 ? sliding_rope : rope; }
  int q_width() const { return n_heads * head_dim; }
  int kv_width() const { return n_kv_heads * head_dim; }
  void validate() const;
};

struct GemmaLayer {
  Tensor attn_norm, post_attention_norm, ffn_norm, post_ffw_norm;  // [1, dim]
  Tensor q_norm, k_norm;  // [1, head_dim], with qk_norm
  StackedWeight qkv;      // [q; k; v]: [q_width + 2 kv_width, dim]
  Weight wo;              // [dim, q_width]
  StackedWeight gate_up;  // [gate; up]: [2 hidden, dim]
  Weight w_down;          // [dim, hidden]
};

struct GemmaWeights {
  Weight token_embd;  // [vocab, dim]; also the output matrix unless `output` is given
  Tensor output_norm;
  Weight output;
  std::vector<GemmaLayer> layers;
};

class GemmaModel : public Model {
 public:
  GemmaModel(Device& device, std::string arch, GemmaConfig config, GemmaWeights weights);
  const GemmaConfig& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, DType dtype = DType::F32) const override;

 private:
  void record(Step& s, KvCache& cache, int64_t n) override;

  GemmaConfig config_;
  GemmaWeights w_;
  RopeTable rope_table_, sliding_rope_table_;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

// Gemma 2 and Gemma 3 from any format: the description's tensors and hyperparameters.
std::unique_ptr<Model> load_gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);
std::unique_ptr<Model> load_gemma3(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
