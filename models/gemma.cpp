#include "models/gemma.h"

#include <cmath>
#include <string>

#include "models/source.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

void GemmaConfig::validate() const {
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 || head_dim <= 0 || vocab <= 0 || context <= 0)
    throw Error("gemma: every dimension must be positive");
  if (n_heads % n_kv_heads) throw Error("gemma: " + std::to_string(n_heads) + " heads do not group into " + std::to_string(n_kv_heads));
  if (int(sliding_window.size()) != n_layers) throw Error("gemma: sliding_window needs one entry per layer");
  if (rope.head_dim != head_dim || sliding_rope.head_dim != head_dim) throw Error("gemma: RoPE head_dim differs from head_dim");
  rope.validate();
  sliding_rope.validate();
}

GemmaModel::GemmaModel(Device& device, std::string arch, GemmaConfig config, GemmaWeights weights)
    : Model(device, std::move(arch), config.vocab, config.context), config_(std::move(config)), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("gemma: weights hold a different number of layers");
  rope_ = GemmaRope::build(device, config_);
}

GemmaRope GemmaRope::build(Device& device, const GemmaConfig& c) {
  GemmaRope r;
  r.global = RopeTable::build(device, c.rope, 0, c.context);
  if (c.sliding_rope != c.rope) r.sliding = RopeTable::build(device, c.sliding_rope, 0, c.context);
  return r;
}

KvCacheConfig gemma_cache_config(const GemmaConfig& g, int64_t capacity, KvTypes types) {
  KvCacheConfig c = Model::cache_shape(g.n_layers, capacity, g.n_kv_heads, g.head_dim, types, g.rope);
  c.sliding_window = g.sliding_window;
  if (g.sliding_rope != g.rope)  // reposition re-rotates each layer with its own
    for (int l = 0; l < g.n_layers; ++l) c.layer_rope.push_back(g.layer_rope(l));
  return c;
}

KvCacheConfig GemmaModel::cache_config(int64_t capacity, KvTypes types) const { return gemma_cache_config(config_, capacity, types); }

namespace gemma_block {

GemmaScratch scratch(const GemmaConfig& c, const std::function<Tensor(int64_t cols, const char* name)>& make) {
  return {make(c.dim, "x"), make(c.dim, "h"), make(c.dim, "t"), make(c.q_width(), "attn"),
          make(c.q_width() + 2 * c.kv_width(), "qkv"), make(2 * c.hidden, "gate_up"), make(c.hidden, "act")};
}

ops::AttentionParams attention(const GemmaConfig& c) {
  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.scale = c.query_scale;
  a.softcap = c.attn_softcap;
  return a;
}

void attention_input(Graph& g, const GemmaConfig& c, const GemmaLayer& L, const GemmaScratch& s, const RopeTable& rope,
                     const Tensor& positions) {
  ops::rmsnorm(g, s.x, L.attn_norm, s.h, c.norm_eps);
  ops::matmul(g, L.qkv, s.h, s.qkv);
  if (c.qk_norm) {
    ops::rmsnorm(g, s.q(c), L.q_norm, s.q(c), c.norm_eps);  // per head: the weights are head_dim wide
    ops::rmsnorm(g, s.k(c), L.k_norm, s.k(c), c.norm_eps);
  }
  const Tensor qk = s.qkv.slice_cols(0, c.q_width() + c.kv_width());
  ops::rope(g, qk, qk, c.n_heads + c.n_kv_heads, rope, positions);  // q's heads, then k's
}

void residual(Graph& g, const GemmaConfig& c, const Weight& w, const Tensor& post_norm, const Tensor& in, const GemmaScratch& s) {
  ops::matmul(g, w, in, s.t);
  ops::rmsnorm(g, s.t, post_norm, s.x, c.norm_eps, true);  // x += norm(t)
}

void feed_forward(Graph& g, const GemmaConfig& c, const GemmaLayer& L, const GemmaScratch& s) {
  ops::rmsnorm(g, s.x, L.ffn_norm, s.h, c.norm_eps);
  ops::matmul(g, L.gate_up, s.h, s.gate_up);
  ops::glu(g, s.gate_up.slice_cols(0, c.hidden), s.gate_up.slice_cols(c.hidden, c.hidden), s.act, ops::Activation::GeluTanh);
  residual(g, c, L.w_down, L.post_ffw_norm, s.act, s);
}

}  // namespace gemma_block

void GemmaModel::record(Step& s, KvCache& cache, int64_t n) {
  const GemmaConfig& c = config_;
  Graph& g = *s.graph;
  const GemmaScratch b = gemma_block::scratch(c, [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); });
  const Tensor q = b.q(c);
  ops::AttentionParams a = gemma_block::attention(c);

  ops::get_rows(g, w_.token_embd, s.tokens, b.x);
  ops::scale(g, b.x, std::sqrt(float(c.dim)), b.x);
  for (int l = 0; l < c.n_layers; ++l) {
    const GemmaLayer& L = w_.layers[size_t(l)];
    gemma_block::attention_input(g, c, L, b, rope_.layer(c, l), s.positions);
    a.window = cache.window(l);
    a.mask = a.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    cache_attention(s, l, q, b.k(c), b.v(c), s.positions, b.att, a);
    gemma_block::residual(g, c, L.wo, L.post_attention_norm, b.att, b);
    gemma_block::feed_forward(g, c, L, b);
  }
  output_head(s, b.x, b.h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, w_.output_norm, out, c.norm_eps); });
  if (s.n_outputs > 0 && c.final_softcap > 0) ops::softcap(g, s.logits, c.final_softcap, s.logits);
}

Extents GemmaConfig::extents() const { return {dim, hidden, vocab, context, kv_width(), 0, q_width(), head_dim}; }

GemmaConfig read_gemma_config(const Hyperparameters& h, const ArchDescription& arch, TensorSource& source, const GemmaVariant& v,
                              const std::string& prefix) {
  GemmaConfig c;
  c.dim = h.integer("embedding_length");
  c.hidden = h.integer("feed_forward_length");
  c.n_layers = h.integer("block_count");
  c.n_heads = h.integer("attention.head_count");
  c.n_kv_heads = h.integer("attention.head_count_kv", c.n_heads);
  if (c.n_heads <= 0) throw Error(h.where() + ": " + h.spelled("attention.head_count") + " must be positive");
  c.head_dim = h.integer("attention.key_length", c.dim / c.n_heads);
  if (h.number("attention.value_length") && h.integer("attention.value_length") != c.head_dim)
    throw Error(h.where() + ": " + h.spelled("attention.value_length") + " differs from " + h.spelled("attention.key_length"));
  c.context = h.integer("context_length");
  c.vocab = h.integer("vocab_size");
  c.norm_eps = float(h.real("attention.layer_norm_rms_epsilon", 1e-6));
  c.attn_softcap = float(h.real("attn_logit_softcapping", 0.0));
  c.final_softcap = float(h.real("final_logit_softcapping", 0.0));
  const double by_dim = c.n_layers == v.query_by_dim_layers ? double(c.dim / c.n_heads) : double(c.head_dim);
  c.query_scale = float(1.0 / std::sqrt(h.real("query_pre_attn_scalar", by_dim)));
  c.qk_norm = v.qk_norm;
  c.sliding_window = h.sliding_windows(c.n_layers, v.global_every);
  if (c.sliding_window.empty()) c.sliding_window.assign(size_t(c.n_layers), 0);
  // An explicit head_dim must split q and k into their heads; say so before any shape is expected.
  for (const auto& [name, heads] : {std::pair{prefix + "blk.0.attn_q.weight", c.n_heads}, std::pair{prefix + "blk.0.attn_k.weight", c.n_kv_heads}})
    if (const auto rows = source.rows(name); rows && *rows != int64_t(heads) * c.head_dim)
      throw Error(h.where() + ": " + name + " has " + std::to_string(*rows) + " rows, not " + std::to_string(heads) + " heads of " +
                  h.spelled("attention.key_length") + " " + std::to_string(c.head_dim));
  ArchTensors t{source, arch, c.extents()};
  c.rope = rope_from(h, t, c.head_dim, c.context);
  c.sliding_rope = c.rope;
  if (v.sliding_base) {
    c.sliding_rope = RopeConfig{.pairing = c.rope.pairing, .head_dim = c.head_dim, .rotary_dim = c.rope.rotary_dim};
    c.sliding_rope.theta = h.real("rope.freq_base_swa", 10000.0);
  }
  c.validate();
  return c;
}

GemmaLayer load_gemma_layer(Device& device, ArchTensors& t, const std::string& prefix, int l, bool qk_norm) {
  const std::string b = prefix + "blk.{l}.";
  GemmaLayer L;
  L.attn_norm = t.tensor(b + "attn_norm.weight", l);
  L.qkv = t.stacked(device, {b + "attn_q.weight", b + "attn_k.weight", b + "attn_v.weight"}, l);
  if (qk_norm) {
    L.q_norm = t.tensor(b + "attn_q_norm.weight", l);
    L.k_norm = t.tensor(b + "attn_k_norm.weight", l);
  }
  L.wo = t.weight(b + "attn_output.weight", l);
  L.post_attention_norm = t.tensor(b + "post_attention_norm.weight", l);
  L.ffn_norm = t.tensor(b + "ffn_norm.weight", l);
  L.gate_up = t.stacked(device, {b + "ffn_gate.weight", b + "ffn_up.weight"}, l);
  L.w_down = t.weight(b + "ffn_down.weight", l);
  L.post_ffw_norm = t.tensor(b + "post_ffw_norm.weight", l);
  return L;
}

namespace {

std::unique_ptr<Model> load_gemma(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source,
                                  const GemmaVariant& v) {
  const GemmaConfig c = read_gemma_config(h, arch, source, v);
  ArchTensors t{source, arch, c.extents()};
  GemmaWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_gemma_layer(device, t, "", l, c.qk_norm));
  source.finish();
  return std::make_unique<GemmaModel>(device, arch.name, c, std::move(w));
}

}  // namespace

std::unique_ptr<Model> load_gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  return load_gemma(device, arch, h, source, kGemma2);
}

std::unique_ptr<Model> load_gemma3(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  return load_gemma(device, arch, h, source, kGemma3);
}

}  // namespace vkllm
