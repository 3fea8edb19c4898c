#pragma once
// T5Gemma and T5Gemma 2 as encoder-decoder graph builders over Gemma stacks, each configured on
// its own (widths, heads, RoPE, windows). Both encoders are Gemma stacks whose blocks attend
// both ways, within a window on sliding layers (T5GemmaEncoderModel).
//
// T5Gemma: Gemma 2 stacks (the encoder may be the wider); the decoder's blocks are Gemma 2's
// with a cross-attention sublayer after self-attention, normed before and after (its K/V
// projected once per input from the encoder's outputs), soft-capped and scaled like
// self-attention. Logits come from the decoder's embedding (or a head of their own) and are
// soft-capped.
//
// T5Gemma 2: Gemma 3 stacks (QK-norm, two RoPE bases) of one width, one embedding for both
// and the head. A decoder block's one attention takes a single softmax over its own cache and
// the encoder's outputs, whose keys and values its own k/v projections (and k-norm, no RoPE)
// make. The encoder's window of w splits into (w + 1) / 2 keys up to the query and w / 2 after.
#include <memory>
#include <utility>
#include <vector>

#include "models/encoder_decoder.h"
#include "models/gemma.h"

namespace vkllm {

struct T5GemmaEncoder {
  Weight embd;
  Tensor norm;
  std::vector<GemmaLayer> layers;
};

class T5GemmaEncoderModel : public EncoderDecoderModel {
 public:
  const GemmaConfig& encoder_config() const { return encoder_; }
  const GemmaConfig& decoder_config() const { return decoder_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const final;

  // A sliding encoder layer's window w as the keys it sees up to the query (its own
  // included) and after it.
  using WindowSplit = std::pair<int, int> (*)(int window);

 protected:
  T5GemmaEncoderModel(Device& device, std::string arch, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start,
                      T5GemmaEncoder weights, WindowSplit split);
  Tensor record_encoder(const EncoderPass& p) final;
  // The decoder's attention over its own cache at layer l (causal, or within the layer's
  // window) and over the encoder's outputs (all of them).
  ops::AttentionParams decoder_self_attention(const KvCache& cache, int l) const;
  ops::AttentionParams decoder_cross_attention() const;

  GemmaConfig encoder_, decoder_;
  T5GemmaEncoder enc_;
  GemmaRope encoder_rope_, decoder_rope_;
  WindowSplit split_;
};

struct T5GemmaDecoderLayer {
  GemmaLayer self;
  Tensor cross_norm, cross_post_norm;
  Weight cross_q, cross_o;
  StackedWeight cross_kv;  // [k; v]: [2 kv_width, encoder dim]
};

struct T5GemmaDecoder {
  Weight embd, output;  // output: the embedding where tied
  Tensor norm;
  std::vector<T5GemmaDecoderLayer> layers;
};

class T5GemmaModel : public T5GemmaEncoderModel {
 public:
  T5GemmaModel(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start, T5GemmaEncoder encoder_weights,
               T5GemmaDecoder decoder_weights);

 private:
  CrossProjection cross_projection(int layer) const override { return {dec_.layers[size_t(layer)].cross_kv, {}}; }
  void record(Step& s, KvCache& cache, int64_t n) override;

  T5GemmaDecoder dec_;
};

class T5Gemma2Model : public T5GemmaEncoderModel {
 public:
  // Decoder layers and final norm; the embedding and head are the encoder's. Inputs may not
  // hold eoi_token (config.json's eoi_token_index).
  T5Gemma2Model(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start, int32_t eoi_token,
                T5GemmaEncoder encoder_weights, std::vector<GemmaLayer> decoder_layers, Tensor decoder_norm);

 private:
  CrossProjection cross_projection(int layer) const override;
  void record(Step& s, KvCache& cache, int64_t n) override;

  std::vector<GemmaLayer> dec_layers_;
  Tensor dec_norm_;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

std::unique_ptr<Model> load_t5gemma(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);
std::unique_ptr<Model> load_t5gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
