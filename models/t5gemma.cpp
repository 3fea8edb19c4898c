#include "models/t5gemma.h"

#include <cmath>
#include <string>
#include <tuple>

#include "models/source.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

T5GemmaEncoderModel::T5GemmaEncoderModel(Device& device, std::string arch, GemmaConfig encoder, GemmaConfig decoder,
                                         int32_t decoder_start, T5GemmaEncoder weights, WindowSplit split)
    : EncoderDecoderModel(device, std::move(arch), decoder.vocab, decoder.context, decoder_start),
      encoder_(std::move(encoder)),
      decoder_(std::move(decoder)),
      enc_(std::move(weights)),
      split_(split) {
  encoder_.validate();
  decoder_.validate();
  if (encoder_.vocab != decoder_.vocab) throw Error(this->arch() + ": the encoder's and the decoder's vocabularies differ");
  if (int(enc_.layers.size()) != encoder_.n_layers) throw Error(this->arch() + ": weights hold a different number of layers");
  encoder_rope_ = GemmaRope::build(device, encoder_);
  decoder_rope_ = GemmaRope::build(device, decoder_);
}

KvCacheConfig T5GemmaEncoderModel::cache_config(int64_t capacity, KvTypes types) const {
  KvCacheConfig k = gemma_cache_config(decoder_, capacity, types);
  k.cross_capacity = encoder_.context;
  return k;
}

Tensor T5GemmaEncoderModel::record_encoder(const EncoderPass& p) {
  const GemmaConfig& c = encoder_;
  Graph& g = p.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return p.tensor(p.n, cols, name); });
  ops::AttentionParams a = gemma_block::attention(c);
  ops::get_rows(g, enc_.embd, p.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const GemmaLayer& L = enc_.layers[size_t(l)];
    gemma_block::attention_input(g, c, L, b, encoder_rope_.layer(c, l), p.positions);
    const int window = c.sliding_window[size_t(l)];
    a.mask = window > 0 ? ops::AttentionMask::BidirectionalWindow : ops::AttentionMask::None;
    if (window > 0) std::tie(a.window, a.window_after) = split_(window);
    ops::attention(g, b.q(c), b.k(c), b.v(c), p.positions, p.positions, b.att, a);
    gemma_block::residual(g, c, L.wo, L.post_attention_norm, b.att, b);
    gemma_block::feed_forward(g, c, L, b);
  }
  ops::rmsnorm(g, b.x, enc_.norm, b.h, c.norm_eps);
  return b.h;
}

ops::AttentionParams T5GemmaEncoderModel::decoder_self_attention(const KvCache& cache, int l) const {
  ops::AttentionParams a = gemma_block::attention(decoder_);
  a.n_kv = Graph::step_param(kSlotNKv);
  a.window = cache.window(l);
  a.mask = a.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
  return a;
}

ops::AttentionParams T5GemmaEncoderModel::decoder_cross_attention() const {
  ops::AttentionParams a = gemma_block::attention(decoder_);
  a.mask = ops::AttentionMask::None;
  a.n_kv = Graph::step_param(kSlotCrossNKv);
  return a;
}

namespace {

// T5Gemma: every key within w of the query, either way.
std::pair<int, int> symmetric_window(int w) { return {w, w}; }
// T5Gemma 2: w keys in all, (w + 1) / 2 of them up to the query.
std::pair<int, int> split_window(int w) { return {(w + 1) / 2, w / 2 + 1}; }

T5GemmaEncoder load_encoder(Device& device, ArchTensors& t, int n_layers, bool qk_norm) {
  T5GemmaEncoder e;
  e.embd = t.weight("enc.token_embd.weight");
  e.norm = t.tensor("enc.output_norm.weight");
  for (int l = 0; l < n_layers; ++l) e.layers.push_back(load_gemma_layer(device, t, "enc.", l, qk_norm));
  return e;
}

}  // namespace

T5GemmaModel::T5GemmaModel(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start,
                           T5GemmaEncoder encoder_weights, T5GemmaDecoder decoder_weights)
    : T5GemmaEncoderModel(device, "t5gemma", std::move(encoder), std::move(decoder), decoder_start, std::move(encoder_weights),
                          symmetric_window),
      dec_(std::move(decoder_weights)) {
  if (int(dec_.layers.size()) != decoder_.n_layers) throw Error("t5gemma: weights hold a different number of layers");
}

void T5GemmaModel::record(Step& s, KvCache& cache, int64_t n) {
  const GemmaConfig& c = decoder_;
  Graph& g = *s.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); });
  const Tensor q = b.q(c), cq = Model::scratch(s, n, c.q_width(), "cross q");
  const KvCache& cross = cache.cross();
  const ops::AttentionParams encoder = decoder_cross_attention();

  ops::get_rows(g, dec_.embd, s.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const T5GemmaDecoderLayer& L = dec_.layers[size_t(l)];
    gemma_block::attention_input(g, c, L.self, b, decoder_rope_.layer(c, l), s.positions);
    cache.write_layer(g, l, b.k(c), b.v(c), Graph::step_param(kSlotFirst));
    const ops::AttentionParams self = decoder_self_attention(cache, l);
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
  output_head(s, b.x, b.h, dec_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, dec_.norm, out, c.norm_eps); });
  if (s.n_outputs > 0 && c.final_softcap > 0) ops::softcap(g, s.logits, c.final_softcap, s.logits);
}

T5Gemma2Model::T5Gemma2Model(Device& device, GemmaConfig encoder, GemmaConfig decoder, int32_t decoder_start, int32_t eoi_token,
                             T5GemmaEncoder encoder_weights, std::vector<GemmaLayer> decoder_layers, Tensor decoder_norm)
    : T5GemmaEncoderModel(device, "t5gemma2", std::move(encoder), std::move(decoder), decoder_start, std::move(encoder_weights),
                          split_window),
      dec_layers_(std::move(decoder_layers)),
      dec_norm_(std::move(decoder_norm)) {
  if (int(dec_layers_.size()) != decoder_.n_layers) throw Error("t5gemma2: weights hold a different number of layers");
  if (encoder_.dim != decoder_.dim)
    throw Error("t5gemma2: the encoder is " + std::to_string(encoder_.dim) + " wide and the decoder " + std::to_string(decoder_.dim) +
                ": the decoder's k/v projections read the encoder's outputs, so they must agree");
  if (!decoder_.qk_norm) throw Error("t5gemma2: the decoder needs its k-norm");
  // That token stands for an embedding of its own, which only follows the vision tower's image
  // tokens; vkllm runs text alone.
  if (eoi_token >= 0 && eoi_token < decoder_.vocab)
    refuse_token(eoi_token, "the end-of-image token, which needs T5Gemma 2's vision tower (not supported)");
}

EncoderDecoderModel::CrossProjection T5Gemma2Model::cross_projection(int layer) const {
  const GemmaLayer& L = dec_layers_[size_t(layer)];
  return {L.qkv.slice_rows(decoder_.q_width(), 2 * decoder_.kv_width()), {}, L.k_norm, decoder_.norm_eps};
}

void T5Gemma2Model::record(Step& s, KvCache& cache, int64_t n) {
  const GemmaConfig& c = decoder_;
  Graph& g = *s.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); });
  const Tensor q = b.q(c);
  const KvCache& cross = cache.cross();
  const ops::AttentionParams encoder = decoder_cross_attention();

  ops::get_rows(g, enc_.embd, s.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const GemmaLayer& L = dec_layers_[size_t(l)];
    gemma_block::attention_input(g, c, L, b, decoder_rope_.layer(c, l), s.positions);
    cache.write_layer(g, l, b.k(c), b.v(c), Graph::step_param(kSlotFirst));
    const ops::AttentionParams self = decoder_self_attention(cache, l);
    const ops::AttentionKeys keys[] = {{cache.k(l), cache.v(l), cache.slot_positions(), self},
                                       {cross.k(l), cross.v(l), cross.slot_positions(), encoder}};
    ops::attention(g, q, keys, s.positions, b.att);
    probe_merged_attention(s, l, q, cache, s.positions, self, encoder);
    gemma_block::residual(g, c, L.wo, L.post_attention_norm, b.att, b);
    gemma_block::feed_forward(g, c, L, b);
  }
  output_head(s, b.x, b.h, enc_.embd, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, dec_norm_, out, c.norm_eps); });
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

  T5GemmaDecoder w;
  w.embd = dt.weight("dec.token_embd.weight");
  w.norm = dt.tensor("dec.output_norm.weight");
  w.output = dt.has("output.weight") ? dt.weight("output.weight") : w.embd;
  for (int l = 0; l < dec.n_layers; ++l) {
    T5GemmaDecoderLayer L;
    L.self = load_gemma_layer(device, dt, "dec.", l, false);
    L.cross_norm = dt.tensor("dec.blk.{l}.cross_attn_norm.weight", l);
    L.cross_q = dt.weight("dec.blk.{l}.cross_attn_q.weight", l);
    L.cross_kv = dt.stacked(device, {"dec.blk.{l}.cross_attn_k.weight", "dec.blk.{l}.cross_attn_v.weight"}, l);
    L.cross_o = dt.weight("dec.blk.{l}.cross_attn_output.weight", l);
    L.cross_post_norm = dt.tensor("dec.blk.{l}.cross_attn_post_norm.weight", l);
    w.layers.push_back(std::move(L));
  }
  T5GemmaEncoder e = load_encoder(device, et, enc.n_layers, false);
  source.finish();
  return std::make_unique<T5GemmaModel>(device, enc, dec, start, std::move(e), std::move(w));
}

std::unique_ptr<Model> load_t5gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  const StackHyperparameters decoder_keys(h, "decoder.");
  GemmaConfig enc = read_gemma_config(h, arch, source, kGemma3, "enc.");
  GemmaConfig dec = read_gemma_config(decoder_keys, arch, source, kGemma3, "dec.");
  enc.attn_softcap = dec.attn_softcap = 0;  // transformers' T5Gemma 2 applies none, whatever its config says
  const int32_t start = h.integer("decoder_start_token_id", 2);
  ArchTensors et{source, arch, enc.extents()}, dt{source, arch, dec.extents()};
  T5GemmaEncoder e = load_encoder(device, et, enc.n_layers, true);
  std::vector<GemmaLayer> layers;
  for (int l = 0; l < dec.n_layers; ++l) layers.push_back(load_gemma_layer(device, dt, "dec.", l, true));
  Tensor norm = dt.tensor("dec.output_norm.weight");
  source.finish();
  return std::make_unique<T5Gemma2Model>(device, enc, dec, start, h.integer("eoi_token_index", 256000), std::move(e),
                                         std::move(layers), std::move(norm));
}

}  // namespace vkllm
