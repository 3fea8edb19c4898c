#include "models/t5.h"

#include <cmath>
#include <string>

#include "models/source.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

void T5Config::validate() const {
  if (dim <= 0 || hidden <= 0 || n_encoder_layers <= 0 || n_decoder_layers <= 0 || n_heads <= 0 || head_dim <= 0 || vocab <= 0 ||
      context <= 0)
    throw Error("t5: every dimension must be positive");
  if (num_buckets < 4 || max_distance <= num_buckets / 2) throw Error("t5: relative attention needs at least 4 buckets");
}

namespace {
Tensor bucket_table(Device& d, const T5Config& c, bool bidirectional) {
  const auto buckets = ops::relative_position_buckets(c.num_buckets, c.max_distance, bidirectional);
  Tensor t = d.tensor(DType::I32, 1, int64_t(buckets.size()), "t5 buckets");
  d.upload(t, buckets.data());
  return t;
}
}  // namespace

T5Model::T5Model(Device& device, T5Config config, T5Weights weights)
    : EncoderDecoderModel(device, "t5", config.vocab, config.context, config.decoder_start), config_(std::move(config)), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.encoder.size()) != config_.n_encoder_layers || int(w_.decoder.size()) != config_.n_decoder_layers)
    throw Error("t5: weights hold a different number of layers");
  encoder_buckets_ = bucket_table(device, config_, true);
  decoder_buckets_ = bucket_table(device, config_, false);
}

KvCacheConfig T5Model::cache_config(int64_t capacity, KvTypes types) const {
  KvCacheConfig c = cache_shape(config_.n_decoder_layers, capacity, config_.n_heads, config_.head_dim, types, std::nullopt);
  c.cross_capacity = config_.context;  // the longest encoder input
  return c;
}

void T5Model::feed_forward(Graph& g, const T5Ffn& f, const Tensor& x, const Tensor& h, const Tensor& act, const Tensor& gate_up) const {
  ops::rmsnorm(g, x, f.norm, h, config_.norm_eps);
  ops::matmul(g, f.gate_up, h, gate_up);
  if (config_.gated)
    ops::glu(g, gate_up.slice_cols(0, config_.hidden), gate_up.slice_cols(config_.hidden, config_.hidden), act, ops::Activation::GeluTanh);
  else
    ops::relu(g, gate_up, act);
  ops::matmul(g, f.down, act, x, 0, {.accumulate = true});
}

Tensor T5Model::record_encoder(const EncoderPass& p) {
  const T5Config& c = config_;
  const int64_t n = p.n;
  Graph& g = p.graph;
  Tensor x = p.tensor(n, c.dim, "x"), h = p.tensor(n, c.dim, "h"), qkv = p.tensor(n, 3 * c.inner(), "qkv"), att = p.tensor(n, c.inner(), "attn");
  Tensor gate_up = p.tensor(n, (c.gated ? 2 : 1) * c.hidden, "gate_up"), act = p.tensor(n, c.hidden, "act");
  Tensor bias = p.tensor(int64_t(c.n_heads) * n, n, "position bias");
  ops::get_rows(g, w_.token_embd, p.tokens, x);
  ops::position_bias(g, w_.encoder_bias, encoder_buckets_, true, p.positions, p.positions, bias);
  ops::AttentionParams a;
  a.n_heads = a.n_kv_heads = c.n_heads;
  a.head_dim = c.head_dim;
  a.scale = 1.0f;  // T5 does not scale its scores
  a.mask = ops::AttentionMask::None;
  a.explicit_mask = &bias;
  for (const T5EncoderLayer& L : w_.encoder) {
    ops::rmsnorm(g, x, L.attn_norm, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv);
    ops::attention(g, qkv.slice_cols(0, c.inner()), qkv.slice_cols(c.inner(), c.inner()), qkv.slice_cols(2 * c.inner(), c.inner()),
                   p.positions, p.positions, att, a);
    ops::matmul(g, L.wo, att, x, 0, {.accumulate = true});
    feed_forward(g, L.ffn, x, h, act, gate_up);
  }
  ops::rmsnorm(g, x, w_.encoder_norm, h, c.norm_eps);
  return h;
}

void T5Model::record(Step& s, KvCache& cache, int64_t n) {
  const T5Config& c = config_;
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), qkv = scratch(3 * c.inner(), "qkv"), att = scratch(c.inner(), "attn");
  Tensor cq = scratch(c.inner(), "cross q"), gate_up = scratch((c.gated ? 2 : 1) * c.hidden, "gate_up"), act = scratch(c.hidden, "act");
  Tensor bias = Model::scratch(s, int64_t(c.n_heads) * n, cache.capacity(), "position bias");
  const Tensor q = qkv.slice_cols(0, c.inner()), k = qkv.slice_cols(c.inner(), c.inner()), v = qkv.slice_cols(2 * c.inner(), c.inner());
  const KvCache& cross = cache.cross();

  ops::AttentionParams self;
  self.n_heads = self.n_kv_heads = c.n_heads;
  self.head_dim = c.head_dim;
  self.scale = 1.0f;
  self.n_kv = Graph::step_param(kSlotNKv);
  self.explicit_mask = &bias;
  ops::AttentionParams encoder = self;
  encoder.mask = ops::AttentionMask::None;
  encoder.n_kv = Graph::step_param(kSlotCrossNKv);
  encoder.explicit_mask = nullptr;

  ops::get_rows(g, w_.token_embd, s.tokens, x);
  ops::position_bias(g, w_.decoder_bias, decoder_buckets_, false, cache.slot_positions(), s.positions.slice_rows(0, 1), bias);
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    const T5DecoderLayer& L = w_.decoder[size_t(l)];
    ops::rmsnorm(g, x, L.attn_norm, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv);
    cache.write_layer(g, l, k, v, Graph::step_param(kSlotFirst));
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, att, self);
    probe_attention(s, l, q, cache, s.positions, self);
    ops::matmul(g, L.wo, att, x, 0, {.accumulate = true});
    ops::rmsnorm(g, x, L.cross_norm, h, c.norm_eps);
    ops::matmul(g, L.cross_q, h, cq);
    ops::attention(g, cq, cross.k(l), cross.v(l), cross.slot_positions(), s.positions, att, encoder);
    probe_attention(s, l, cq, cross, s.positions, encoder, true);
    ops::matmul(g, L.cross_o, att, x, 0, {.accumulate = true});
    feed_forward(g, L.ffn, x, h, act, gate_up);
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) {
    ops::rmsnorm(g, in, w_.decoder_norm, out, c.norm_eps);
    if (c.tied_output) ops::scale(g, out, 1.0f / std::sqrt(float(c.dim)), out);  // v1.0's rescale before the tied head
  });
}

std::unique_ptr<Model> load_t5(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  T5Config c;
  c.dim = h.integer("embedding_length");
  c.hidden = h.integer("feed_forward_length");
  c.n_encoder_layers = h.integer("block_count");
  c.n_decoder_layers = h.integer("decoder_block_count", c.n_encoder_layers);
  c.n_heads = h.integer("attention.head_count");
  if (c.n_heads <= 0) throw Error(h.where() + ": " + h.spelled("attention.head_count") + " must be positive");
  c.head_dim = h.integer("attention.key_length", c.dim / c.n_heads);
  c.vocab = h.integer("vocab_size");
  c.context = h.integer("context_length", 512);
  c.norm_eps = float(h.real("attention.layer_norm_rms_epsilon", 1e-6));
  c.num_buckets = h.integer("attention.relative_buckets_count", 32);
  c.max_distance = h.integer("attention.relative_max_distance", 128);
  c.decoder_start = h.integer("decoder_start_token_id", 0);
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, c.inner(), 0, c.inner(), c.head_dim, c.n_heads, c.num_buckets}};
  c.gated = t.has("enc.blk.{l}.ffn_gate.weight", 0);
  c.tied_output = h.flag("tie_word_embeddings", !t.has("output.weight"));
  c.validate();

  T5Weights w;
  w.token_embd = t.weight("token_embd.weight");
  w.encoder_bias = t.tensor("enc.blk.0.attn_rel_b.weight");
  w.decoder_bias = t.tensor("dec.blk.0.attn_rel_b.weight");
  w.encoder_norm = t.tensor("enc.output_norm.weight");
  w.decoder_norm = t.tensor("dec.output_norm.weight");
  w.output = c.tied_output ? w.token_embd : t.weight("output.weight");
  auto ffn = [&](const std::string& stack, int l) {
    T5Ffn f;
    f.norm = t.tensor(stack + ".blk.{l}.ffn_norm.weight", l);
    f.gate_up = c.gated ? t.stacked(device, {stack + ".blk.{l}.ffn_gate.weight", stack + ".blk.{l}.ffn_up.weight"}, l)
                        : t.stacked(device, {stack + ".blk.{l}.ffn_up.weight"}, l);
    f.down = t.weight(stack + ".blk.{l}.ffn_down.weight", l);
    return f;
  };
  for (int l = 0; l < c.n_encoder_layers; ++l) {
    T5EncoderLayer L;
    L.attn_norm = t.tensor("enc.blk.{l}.attn_norm.weight", l);
    L.qkv = t.stacked(device, {"enc.blk.{l}.attn_q.weight", "enc.blk.{l}.attn_k.weight", "enc.blk.{l}.attn_v.weight"}, l);
    L.wo = t.weight("enc.blk.{l}.attn_o.weight", l);
    L.ffn = ffn("enc", l);
    w.encoder.push_back(std::move(L));
  }
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    T5DecoderLayer L;
    L.attn_norm = t.tensor("dec.blk.{l}.attn_norm.weight", l);
    L.qkv = t.stacked(device, {"dec.blk.{l}.attn_q.weight", "dec.blk.{l}.attn_k.weight", "dec.blk.{l}.attn_v.weight"}, l);
    L.wo = t.weight("dec.blk.{l}.attn_o.weight", l);
    L.cross_norm = t.tensor("dec.blk.{l}.cross_attn_norm.weight", l);
    L.cross_q = t.weight("dec.blk.{l}.cross_attn_q.weight", l);
    L.cross_kv = t.stacked(device, {"dec.blk.{l}.cross_attn_k.weight", "dec.blk.{l}.cross_attn_v.weight"}, l);
    L.cross_o = t.weight("dec.blk.{l}.cross_attn_o.weight", l);
    L.ffn = ffn("dec", l);
    w.decoder.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<T5Model>(device, c, std::move(w));
}

}  // namespace vkllm
