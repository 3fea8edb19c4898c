#pragma once
// GPT-2 as a graph builder: token plus learned absolute position embeddings, pre-LayerNorm
// (with bias) attention with q/k/v biases, GELU (tanh) feed-forward with biases, final
// LayerNorm and output projection. No rotary embedding: the KV cache can select and append,
// and refuses reposition.
#include <vector>

#include "models/model.h"
#include "runtime/weight.h"

namespace vkllm {

struct Gpt2Config {
  int dim = 0, hidden = 0, n_layers = 0, n_heads = 0, vocab = 0;
  int context = 0;  // rows of the position embedding
  float norm_eps = 1e-5f;
  int head_dim() const { return dim / n_heads; }
  void validate() const;
};

struct Gpt2Layer {
  Tensor attn_norm, attn_norm_bias;  // [1, dim]
  StackedWeight qkv;                 // [3 dim, dim]: [q; k; v], as GGUF stores them (one product)
  Tensor bqkv;                       // [1, 3 dim]
  Weight wo;
  Tensor bo;
  Tensor ffn_norm, ffn_norm_bias;
  Weight w_up, w_down;  // [hidden, dim], [dim, hidden]
  Tensor b_up, b_down;
};

// Sets the layer's fused [q; k; v] matrix [3 dim, dim] and bias [1, 3 dim], checking their shapes.
void set_fused_qkv(Gpt2Layer& layer, Weight qkv, Tensor qkv_bias, int64_t dim);

struct Gpt2Weights {
  Weight token_embd;  // [vocab, dim]
  Tensor position_embd;  // [context, dim]
  Tensor output_norm, output_norm_bias;
  Weight output;  // may share token_embd's storage (tied)
  std::vector<Gpt2Layer> layers;
};

class Gpt2Model : public Model {
 public:
  Gpt2Model(Device& device, Gpt2Config config, Gpt2Weights weights);
  const Gpt2Config& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;
  bool batches_sequences() const override { return true; }

 private:
  void record(Step& s, KvCache& cache, int64_t n) override;

  Gpt2Config config_;
  Gpt2Weights w_;
};

struct ArchDescription;
struct ArchTensors;
class Hyperparameters;
class TensorSource;

// One block of the layout GPT-2 and ChatGLM-6B share (LayerNorms with bias, fused q/k/v as
// [q; k; v] rows, attention output, GELU FFN, all with biases).
Gpt2Layer load_biased_block(ArchTensors& t, int layer, int64_t dim);

// GPT-2 from any format: the description's tensors and hyperparameters.
std::unique_ptr<Model> load_gpt2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
