#pragma once
// T5Gemma as an encoder-decoder graph builder: two Gemma 2 stacks, each configured on its own
// (widths, heads, RoPE, windows; the encoder may be the wider one). The encoder's blocks
// attend both ways, within the window on sliding layers; the decoder's are Gemma 2's blocks
// with a cross-attention sublayer after self-attention, normed before and after (its K/V
// projected once per input from the encoder's outputs), soft-capped and scaled like
// self-attention. Logits come from the decoder's embedding (or a head of their own) and are
// soft-capped.
#include <memory>
#include <vector>

#include "models/encoder_decoder.h"
#include "models/gemma.h"

namespace vkllm {

struct T5GemmaDecoderLayer {
  GemmaLayer self;
  Tensor cross_norm, cross_post_norm;
  Weight cross_q, cross_o;
  StackedWeight cross_kv;  // [k; v]: [2 kv_width, encoder dim]
};

struct T5GemmaWeights {
  Weight encoder_embd, decoder_embd, output;  // output: the decoder's embedding where tied
  Tensor encoder_norm, decoder_norm;
  std::vector<GemmaLayer> encoder;
  std::vector<T5GemmaDecoderLayer> decoder;
};

class T5GemmaModel : public EncoderDecoderModel {
 public:
  T5GemmaModel(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start, T5GemmaWeights weights);
  const GemmaConfig& encoder_config() const { return encoder_; }
  const GemmaConfig& decoder_config() const { return decoder_; }
  KvCacheConfig cache_config(int64_t capacity, DType dtype = DType::F32) const override;

 private:
  Tensor record_encoder(const EncoderPass& p) override;
  CrossProjection cross_projection(int layer) const override { return {w_.decoder[size_t(layer)].cross_kv, {}}; }
  void record(Step& s, KvCache& cache, int64_t n) override;

  GemmaConfig encoder_, decoder_;
  T5GemmaWeights w_;
  RopeTable encoder_rope_, decoder_rope_;
};

class Hyperparameters;
class TensorSource;
struct ArchDescription;

std::unique_ptr<Model> load_t5gemma(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
