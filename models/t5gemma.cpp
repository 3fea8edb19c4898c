#include "models/t5gemma.h"

#include <cmath>
#include <string>

#include "models/source.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

T5GemmaModel::T5GemmaModel(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start, T5GemmaWeights weights)
    : EncoderDecoderModel(device, "t5gemma", decoder.vocab, decoder.context, decoder_start),
      encoder_(std::move(encoder)),
      decoder_(std::move(decoder)),
      w_(std::move(weights)) {
  encoder_.validate();
  decoder_.validate();
  if (encoder_.vocab != decoder_.vocab) throw Error("t5gemma: the encoder's and the decoder's vocabularies differ");
  if (int(w_.encoder.size()) != encoder_.n_layers || int(w_.decoder.size()) != decoder_.n_layers)
    throw Error("t5gemma: weights hold a different number of layers");
  encoder_rope_ = RopeTable::build(device, encoder_.rope, 0, encoder_.context);
  decoder_rope_ = RopeTable::build(device, decoder_.rope, 0, decoder_.context);
}

KvCacheConfig T5GemmaModel::cache_config(int64_t capacity, DType dtype) const {
  const GemmaConfig& c = decoder_;
  KvCacheConfig k = cache_shape(c.n_layers, capacity, c.n_kv_heads, c.head_dim, dtype, c.rope);
  k.sliding_window = c.sliding_window;
  k.cross_capacity = encoder_.context;
  return k;
}

Tensor T5GemmaModel::record_encoder(const EncoderPass& p) {
  const GemmaConfig& c = encoder_;
  Graph& g = p.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return p.tensor(p.n, cols, name); });
  ops::AttentionParams a = gemma_block::attention(c);
  ops::get_rows(g, w_.encoder_embd, p.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const GemmaLayer& L = w_.encoder[size_t(l)];
    gemma_block::attention_input(g, c, L, b, encoder_rope_, p.positions);
    a.window = c.sliding_window[size_t(l)];
    a.mask = a.window > 0 ? ops::AttentionMask::BidirectionalWindow : ops::AttentionMask::None;
    ops::attention(g, b.q(c), b.k(c), b.v(c), p.positions, p.positions, b.att, a);
    gemma_block::residual(g, c, L.wo, L.post_attention_norm, b.att, b);
    gemma_block::feed_forward(g, c, L, b);
  }
  ops::rmsnorm(g, b.x, w_.encoder_norm, b.h, c.norm_eps);
  return b.h;
}

void T5GemmaModel::record(Step& s, KvCache& cache, int64_t n) {
  const GemmaConfig& c = decoder_;
  Graph& g = *s.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); });
  const Tensor q = b.q(c), cq = Model::scratch(s, n, c.q_width(), "cross q");
  const KvCache& cross = cache.cross();
  ops::AttentionParams self = gemma_block::attention(c), encoder = gemma_block::attention(c);
  self.n_kv = Graph::step_param(kSlotNKv);
  encoder.mask = ops::AttentionMask::None;
  encoder.n_kv = Graph::step_param(kSlotCrossNKv);

  ops::get_rows(g, w_.decoder_embd, s.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const T5GemmaDecoderLayer& L = w_.decoder[size_t(l)];
    gemma_block::attention_input(g, c, L.self, b, decoder_rope_, s.positions);
    cache.write_layer(g, l, b.k(c), b.v(c), Graph::step_param(kSlotFirst));
    self.window = cache.window(l);
    self.mask = self.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, b.att, self);
    probe_attention(s, l, q, cache, s.positions, self);
    gemma_block::residual(g, c, L.self.wo, L.self.post_attention_norm, b.att, b);
    ops::rmsnorm(g, b.x, L.cross_norm, b.h, c.norm_eps);
    ops::matmul(g, L.cross_q, b.h, cq);
    ops::attention(g, cq, cross.k(l), cross.v(l), cross.slot_positions(), s.positions, b.att, encoder);
    probe_attention(s, l, cq, cross, s.positions, encoder, true);
    gemma_block::residual(g, c, L.cross_o, L.cross_post_norm, b.att, b);
    gemma_block::feed_forward(g, c, L.self, b);
  }
  output_head(s, b.x, b.h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, w_.decoder_norm, out, c.norm_eps); });
  if (s.n_outputs > 0 && c.final_softcap > 0) ops::softcap(g, s.logits, c.final_softcap, s.logits);
}

std::unique_ptr<Model> load_t5gemma(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  const StackHyperparameters decoder_keys(h, "decoder.");
  const GemmaConfig enc = read_gemma_config(h, arch, source, kGemma2, "enc.");
  const GemmaConfig dec = read_gemma_config(decoder_keys, arch, source, kGemma2, "dec.");
  const int32_t start = h.integer("decoder_start_token_id", 2);
  ArchTensors et{source, arch, enc.extents()};
  Extents decoder_extents = dec.extents();
  decoder_extents.encoder_dim = enc.dim;
  ArchTensors dt{source, arch, decoder_extents};

  T5GemmaWeights w;
  w.encoder_embd = et.weight("enc.token_embd.weight");
  w.encoder_norm = et.tensor("enc.output_norm.weight");
  w.decoder_embd = dt.weight("dec.token_embd.weight");
  w.decoder_norm = dt.tensor("dec.output_norm.weight");
  w.output = dt.has("output.weight") ? dt.weight("output.weight") : w.decoder_embd;
  for (int l = 0; l < enc.n_layers; ++l) w.encoder.push_back(load_gemma_layer(device, et, "enc.", l, false));
  for (int l = 0; l < dec.n_layers; ++l) {
    T5GemmaDecoderLayer L;
    L.self = load_gemma_layer(device, dt, "dec.", l, false);
    L.cross_norm = dt.tensor("dec.blk.{l}.cross_attn_norm.weight", l);
    L.cross_q = dt.weight("dec.blk.{l}.cross_attn_q.weight", l);
    L.cross_kv = dt.stacked(device, {"dec.blk.{l}.cross_attn_k.weight", "dec.blk.{l}.cross_attn_v.weight"}, l);
    L.cross_o = dt.weight("dec.blk.{l}.cross_attn_output.weight", l);
    L.cross_post_norm = dt.tensor("dec.blk.{l}.cross_attn_post_norm.weight", l);
    w.decoder.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<T5GemmaModel>(device, enc, dec, start, std::move(w));
}

}  // namespace vkllm
