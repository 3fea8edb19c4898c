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
  if (rope.head_dim != head_dim) throw Error("gemma: RoPE head_dim differs from head_dim");
  rope.validate();
}

GemmaModel::GemmaModel(Device& device, GemmaConfig config, GemmaWeights weights)
    : Model(device, "gemma2", config.vocab, config.context), config_(std::move(config)), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("gemma: weights hold a different number of layers");
  rope_table_ = RopeTable::build(device, config_.rope, 0, config_.context);
}

KvCacheConfig GemmaModel::cache_config(int64_t capacity, DType dtype) const {
  KvCacheConfig c = cache_shape(config_.n_layers, capacity, config_.n_kv_heads, config_.head_dim, dtype, config_.rope);
  c.sliding_window = config_.sliding_window;
  return c;
}

void GemmaModel::record(Step& s, KvCache& cache, int64_t n) {
  const GemmaConfig& c = config_;
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), t = scratch(c.dim, "t"), att = scratch(c.q_width(), "attn");
  Tensor qkv = scratch(c.q_width() + 2 * c.kv_width(), "qkv"), gate_up = scratch(2 * c.hidden, "gate_up");
  Tensor act = scratch(c.hidden, "act");
  const Tensor q = qkv.slice_cols(0, c.q_width()), qk = qkv.slice_cols(0, c.q_width() + c.kv_width());
  const Tensor k = qkv.slice_cols(c.q_width(), c.kv_width()), v = qkv.slice_cols(c.q_width() + c.kv_width(), c.kv_width());

  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.scale = c.query_scale;
  a.softcap = c.attn_softcap;
  a.n_kv = Graph::step_param(kSlotNKv);

  ops::get_rows(g, w_.token_embd, s.tokens, x);
  ops::scale(g, x, std::sqrt(float(c.dim)), x);
  for (int l = 0; l < c.n_layers; ++l) {
    const GemmaLayer& L = w_.layers[size_t(l)];
    ops::rmsnorm(g, x, L.attn_norm, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv);
    ops::rope(g, qk, qk, c.n_heads + c.n_kv_heads, rope_table_, s.positions);  // q's heads, then k's
    cache.write_layer(g, l, k, v, Graph::step_param(kSlotFirst));
    a.window = cache.window(l);
    a.mask = a.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, att, a);
    probe_attention(s, l, q, cache, s.positions, a);
    ops::matmul(g, L.wo, att, t);
    ops::rmsnorm(g, t, L.post_attention_norm, t, c.norm_eps);
    ops::add(g, x, t, x);
    ops::rmsnorm(g, x, L.ffn_norm, h, c.norm_eps);
    ops::matmul(g, L.gate_up, h, gate_up);
    ops::glu(g, gate_up.slice_cols(0, c.hidden), gate_up.slice_cols(c.hidden, c.hidden), act, ops::Activation::GeluTanh);
    ops::matmul(g, L.w_down, act, t);
    ops::rmsnorm(g, t, L.post_ffw_norm, t, c.norm_eps);
    ops::add(g, x, t, x);
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, w_.output_norm, out, c.norm_eps); });
  if (s.n_outputs > 0 && c.final_softcap > 0) ops::softcap(g, s.logits, c.final_softcap, s.logits);
}

std::unique_ptr<Model> load_gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
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
  c.query_scale = float(1.0 / std::sqrt(h.real("query_pre_attn_scalar", c.head_dim)));
  const int window = h.integer("attention.sliding_window", 0);
  for (int l = 0; l < c.n_layers; ++l) c.sliding_window.push_back(l % 2 == 0 ? window : 0);  // even layers slide
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, c.kv_width(), 0, c.q_width()}};
  c.rope = rope_from(h, t, c.head_dim, c.context);
  c.validate();

  GemmaWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) {
    GemmaLayer L;
    L.attn_norm = t.tensor("blk.{l}.attn_norm.weight", l);
    L.qkv = t.stacked(device, {"blk.{l}.attn_q.weight", "blk.{l}.attn_k.weight", "blk.{l}.attn_v.weight"}, l);
    L.wo = t.weight("blk.{l}.attn_output.weight", l);
    L.post_attention_norm = t.tensor("blk.{l}.post_attention_norm.weight", l);
    L.ffn_norm = t.tensor("blk.{l}.ffn_norm.weight", l);
    L.gate_up = t.stacked(device, {"blk.{l}.ffn_gate.weight", "blk.{l}.ffn_up.weight"}, l);
    L.w_down = t.weight("blk.{l}.ffn_down.weight", l);
    L.post_ffw_norm = t.tensor("blk.{l}.post_ffw_norm.weight", l);
    w.layers.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<GemmaModel>(device, c, std::move(w));
}

}  // namespace vkllm
