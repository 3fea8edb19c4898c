#pragma once
// BART as an encoder-decoder graph builder. Each stack embeds tokens (times sqrt(dim) where
// scale_embedding) plus learned positions, whose table starts at row 2 (fairseq's offset), and
// LayerNorms the sum; its blocks are post-norm: x = LayerNorm(x + sublayer(x)), with biases
// in every projection and norm, scaled dot-product attention and a GELU (erf) feed-forward.
// Decoder blocks add cross-attention to the encoder's outputs, whose K/V are projected once
// per input (EncoderDecoderModel). The LM head is the embedding plus final_logits_bias.
#include <memory>
#include <vector>

#include "models/encoder_decoder.h"
#include "runtime/weight.h"

namespace vkllm {

// activation_function: "gelu" (erf), "gelu_new" (tanh) or "relu".
enum class BartActivation { Gelu, GeluTanh, Relu };

struct BartConfig {
  int dim = 0, hidden = 0, n_encoder_layers = 0, n_decoder_layers = 0, n_heads = 0, vocab = 0;
  int context = 0;  // positions each stack embeds (max_position_embeddings)
  float norm_eps = 1e-5f;
  bool scale_embedding = false;  // embeddings times sqrt(dim)
  BartActivation activation = BartActivation::Gelu;
  int32_t decoder_start = 2;
  int32_t forced_bos = -1;  // generation's first token after the start (bart-large-cnn: <s>); < 0: none
  int head_dim() const { return dim / n_heads; }
  void validate() const;
};

struct BartNorm {
  Tensor weight, bias;
};

struct BartAttention {
  StackedWeight qkv;  // [q; k; v], or [q] in cross-attention
  Tensor qkv_bias;
  Weight out;
  Tensor out_bias;
  BartNorm norm;  // after the residual
};

struct BartFfn {
  Weight up, down;
  Tensor up_bias, down_bias;
  BartNorm norm;
};

struct BartEncoderLayer {
  BartAttention self;
  BartFfn ffn;
};

struct BartDecoderLayer {
  BartAttention self, cross;  // cross.qkv holds q alone: K/V come from cross_kv
  StackedWeight cross_kv;     // [k; v] of the encoder outputs
  Tensor cross_kv_bias;
  BartFfn ffn;
};

struct BartStack {
  Tensor positions;  // [context + 2, dim], as stored
  BartNorm embedding_norm;
};

struct BartWeights {
  Weight token_embd;
  BartStack encoder_stack, decoder_stack;
  Weight output;        // the embedding where tied
  Tensor output_bias;   // final_logits_bias [1, vocab]; no storage: none
  std::vector<BartEncoderLayer> encoder;
  std::vector<BartDecoderLayer> decoder;
};

class BartModel : public EncoderDecoderModel {
 public:
  BartModel(Device& device, BartConfig config, BartWeights weights);
  const BartConfig& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;
  std::vector<int32_t> decoder_prompt() const override;

 private:
  Tensor record_encoder(const EncoderPass& p) override;
  CrossProjection cross_projection(int layer) const override;
  void record(Step& s, KvCache& cache, int64_t n) override;
  // x, h: [n, dim]; leaves the normed embedding in `out` (one of them) and the other in `spare`.
  void embed(Graph& g, const BartStack& stack, const Tensor& tokens, const Tensor& positions, Tensor& out, Tensor& spare) const;
  // x = LayerNorm(x + ...) with x and spare swapping roles.
  void post_norm(Graph& g, const BartNorm& norm, Tensor& x, Tensor& spare) const;
  void feed_forward(Graph& g, const BartFfn& f, Tensor& x, Tensor& spare, const Tensor& up) const;

  BartConfig config_;
  BartWeights w_;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

std::unique_ptr<Model> load_bart(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
