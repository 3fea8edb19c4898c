#pragma once
// What encoder-decoder models (T5, BART) share: encode() runs the architecture's encoder over
// the input once and projects every decoder layer's cross-attention K/V of its outputs into
// the cache's cross-attention part (KvCache::cross), where decoding steps read them like a
// cache and never recompute them.
#include <map>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "models/model.h"

namespace vkllm {

class EncoderDecoderModel : public Model {
 public:
  bool encoder_decoder() const final { return true; }
  int32_t decoder_start_token() const final { return decoder_start_; }
  std::vector<int32_t> decoder_prompt() const override { return {decoder_start_}; }
  void encode(KvCache& cache, std::span<const int32_t> tokens) final;

 protected:
  EncoderDecoderModel(Device& device, std::string arch, int vocab, int context, int32_t decoder_start);

  // One encoder pass being recorded: its inputs I32 [1, n] and F32 working memory, which
  // comes from the model's encoder arena (one buffer per name and n-th use in a pass, grown to
  // the largest shape yet: passes run one at a time).
  struct EncoderPass {
    Graph& graph;
    const Tensor &tokens, &positions;
    int64_t n;
    Tensor tensor(int64_t rows, int64_t cols, const char* name) const;

    EncoderDecoderModel& model;
    mutable std::map<std::string, int> taken;
  };
  // Records the encoder over p.tokens at p.positions; returns its outputs [n, dim].
  virtual Tensor record_encoder(const EncoderPass& p) = 0;
  // Decoder layer `layer`'s cross-attention K/V projection of the encoder outputs ([k; v]
  // rows), its bias and the norm of each key head (no storage: none; T5Gemma 2's k_norm).
  struct CrossProjection {
    StackedWeight kv;
    Tensor bias;
    Tensor k_norm;
    float norm_eps = 0;
  };
  virtual CrossProjection cross_projection(int layer) const = 0;

 private:
  int32_t decoder_start_;
  std::map<std::pair<std::string, int>, Tensor> encoder_arena_;
};

}  // namespace vkllm
