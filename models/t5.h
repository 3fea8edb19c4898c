#pragma once
// T5 (v1.0, v1.1, Flan-T5) as an encoder-decoder graph builder. The encoder reads its tokens
// bidirectionally; each decoder layer attends causally to the decoder's own cache and then to
// the encoder's outputs, whose K/V are projected once per input into the cache's
// cross-attention part (KvCache::cross) and read like a cache from then on. Both stacks use
// T5's RMS norm (no mean, no bias), unscaled attention scores plus a relative position bias
// (buckets by distance; bidirectional in the encoder, causal in the decoder; one table per
// stack, learned in its first layer and shared by all), and a ReLU (v1.0) or gated tanh-GELU
// (v1.1) feed-forward. The LM head is separate (v1.1) or the embedding scaled by dim^-0.5.
#include <memory>
#include <span>
#include <vector>

#include "models/encoder_decoder.h"
#include "runtime/weight.h"

namespace vkllm {

struct T5Config {
  int dim = 0, hidden = 0, n_encoder_layers = 0, n_decoder_layers = 0, n_heads = 0, head_dim = 0, vocab = 0;
  int context = 0;  // longest encoder input and decoder sequence
  float norm_eps = 1e-6f;
  int num_buckets = 32, max_distance = 128;
  bool gated = true;           // v1.1: gelu(gate) * up; v1.0: relu(up)
  bool tied_output = false;    // v1.0: logits from the embedding, hidden state scaled by dim^-0.5
  int32_t decoder_start = 0;
  int inner() const { return n_heads * head_dim; }
  void validate() const;
};

struct T5Ffn {
  Tensor norm;
  StackedWeight gate_up;  // [gate; up] (gated) or [up]
  Weight down;
};

struct T5EncoderLayer {
  Tensor attn_norm;
  StackedWeight qkv;  // [q; k; v]: [3 inner, dim]
  Weight wo;
  T5Ffn ffn;
};

struct T5DecoderLayer {
  Tensor attn_norm;
  StackedWeight qkv;
  Weight wo;
  Tensor cross_norm;
  Weight cross_q;
  StackedWeight cross_kv;  // [k; v] of the encoder outputs: [2 inner, dim]
  Weight cross_o;
  T5Ffn ffn;
};

struct T5Weights {
  Weight token_embd;
  Tensor encoder_bias, decoder_bias;  // relative position tables [num_buckets, heads]
  Tensor encoder_norm, decoder_norm;
  Weight output;
  std::vector<T5EncoderLayer> encoder;
  std::vector<T5DecoderLayer> decoder;
};

class T5Model : public EncoderDecoderModel {
 public:
  T5Model(Device& device, T5Config config, T5Weights weights);
  const T5Config& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;

 private:
  Tensor record_encoder(const EncoderPass& p) override;
  CrossProjection cross_projection(int layer) const override { return {w_.decoder[size_t(layer)].cross_kv, {}}; }
  void record(Step& s, KvCache& cache, int64_t n) override;
  void feed_forward(Graph& g, const T5Ffn& f, const Tensor& x, const Tensor& h, const Tensor& act, const Tensor& gate_up) const;

  T5Config config_;
  T5Weights w_;
  Tensor encoder_buckets_, decoder_buckets_;  // I32: the bucket of each distance
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

std::unique_ptr<Model> load_t5(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
