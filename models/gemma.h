#pragma once
// Gemma 2 and Gemma 3 (text) as one graph builder: embeddings scaled by sqrt(dim); RMSNorm
// before and after both attention and the feed-forward (GGUF stores the norms' 1 + w); GQA
// attention over the KV cache with RoPE and a query scale from query_pre_attn_scalar; sliding
// windows on all but every n-th layer; a GeGLU (tanh) feed-forward; tied output. Gemma 2
// soft-caps attention logits and the output (every other layer global); Gemma 3 instead
// normalizes each q and k head (QK-norm) and rotates sliding layers with their own RoPE base
// (every 6th layer global).
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/arch.h"
#include "models/model.h"
#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/ops.h"
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
  Extents extents() const;  // the description's tensor shapes
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

// A Gemma block's working memory for n rows, and its parts, which T5Gemma's stacks share:
// attention_input: h = norm(x), [q; k; v] = h W (QK-normed), q and k rotated at positions;
// residual: x += post_norm(in W); feed_forward: x += post_norm(ffn(norm(x))).
struct GemmaScratch {
  Tensor x, h, t, att, qkv, gate_up, act;
  Tensor q(const GemmaConfig& c) const { return qkv.slice_cols(0, c.q_width()); }
  Tensor k(const GemmaConfig& c) const { return qkv.slice_cols(c.q_width(), c.kv_width()); }
  Tensor v(const GemmaConfig& c) const { return qkv.slice_cols(c.q_width() + c.kv_width(), c.kv_width()); }
};
namespace gemma_block {
// The working memory, each tensor from make(cols, name), and the attention parameters.
GemmaScratch scratch(const GemmaConfig& c, const std::function<Tensor(int64_t cols, const char* name)>& make);
ops::AttentionParams attention(const GemmaConfig& c);
void attention_input(Graph& g, const GemmaConfig& c, const GemmaLayer& L, const GemmaScratch& s, const RopeTable& rope,
                     const Tensor& positions);
void residual(Graph& g, const GemmaConfig& c, const Weight& w, const Tensor& post_norm, const Tensor& in, const GemmaScratch& s);
void feed_forward(Graph& g, const GemmaConfig& c, const GemmaLayer& L, const GemmaScratch& s);
}  // namespace gemma_block

// A Gemma stack's RoPE tables: its global layers' and, where their base differs (Gemma 3),
// its sliding layers'.
struct GemmaRope {
  RopeTable global, sliding;
  static GemmaRope build(Device& device, const GemmaConfig& c);
  const RopeTable& layer(const GemmaConfig& c, int l) const {
    return c.sliding_rope != c.rope && c.sliding_window[size_t(l)] > 0 ? sliding : global;
  }
};
// A Gemma stack's KV cache: its windows, and each layer's RoPE where the bases differ, which
// reposition re-applies.
KvCacheConfig gemma_cache_config(const GemmaConfig& c, int64_t capacity, KvTypes types);

class GemmaModel : public Model {
 public:
  GemmaModel(Device& device, std::string arch, GemmaConfig config, GemmaWeights weights);
  const GemmaConfig& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;
  bool batches_sequences() const override { return true; }

 private:
  void record(Step& s, KvCache& cache, int64_t n) override;

  GemmaConfig config_;
  GemmaWeights w_;
  GemmaRope rope_;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;
struct ArchTensors;

// What sets Gemma 3 apart from Gemma 2 when loading.
struct GemmaVariant {
  int global_every;         // every n-th layer attends globally, the rest slide
  bool qk_norm;
  bool sliding_base;        // sliding layers have their own RoPE base (rope.freq_base_swa), unscaled
  int query_by_dim_layers;  // the 27B model's layer count: llama.cpp scales its queries by
                            // 1/sqrt(dim/heads) where a GGUF has no query_pre_attn_scalar
};
inline constexpr GemmaVariant kGemma2{.global_every = 2, .qk_norm = false, .sliding_base = false, .query_by_dim_layers = 46};
inline constexpr GemmaVariant kGemma3{.global_every = 6, .qk_norm = true, .sliding_base = true, .query_by_dim_layers = 62};

// A Gemma model's (or a T5Gemma stack's) config and blocks; `prefix` starts the stack's
// tensor names ("enc." in T5Gemma).
GemmaConfig read_gemma_config(const Hyperparameters& h, const ArchDescription& arch, TensorSource& source, const GemmaVariant& v,
                              const std::string& prefix = "");
GemmaLayer load_gemma_layer(Device& device, ArchTensors& t, const std::string& prefix, int layer, bool qk_norm);

// Gemma 2 and Gemma 3 from any format: the description's tensors and hyperparameters.
std::unique_ptr<Model> load_gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);
std::unique_ptr<Model> load_gemma3(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
