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
  rope_table_ = RopeTable::build(device, config_.rope, 0, config_.context);
  if (config_.sliding_rope != config_.rope) sliding_rope_table_ = RopeTable::build(device, config_.sliding_rope, 0, config_.context);
}

KvCacheConfig GemmaModel::cache_config(int64_t capacity, DType dtype) const {
  KvCacheConfig c = cache_shape(config_.n_layers, capacity, config_.n_kv_heads, config_.head_dim, dtype, config_.rope);
  c.sliding_window = config_.sliding_window;
  if (config_.sliding_rope != config_.rope)  // reposition re-rotates each layer with its own
    for (int l = 0; l < config_.n_layers; ++l) c.layer_rope.push_back(config_.layer_rope(l));
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
    if (c.qk_norm) {
      ops::rmsnorm(g, q, L.q_norm, q, c.norm_eps);  // per head: the weights are head_dim wide
      ops::rmsnorm(g, k, L.k_norm, k, c.norm_eps);
    }
    const RopeTable& rope = c.sliding_rope != c.rope && c.sliding_window[size_t(l)] > 0 ? sliding_rope_table_ : rope_table_;
    ops::rope(g, qk, qk, c.n_heads + c.n_kv_heads, rope, s.positions);  // q's heads, then k's
    cache.write_layer(g, l, k, v, Graph::step_param(kSlotFirst));
    a.window = cache.window(l);
    a.mask = a.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, att, a);
    probe_attention(s, l, q, cache, s.positions, a);
    ops::matmul(g, L.wo, att, t);
    ops::rmsnorm(g, t, L.post_attention_norm, x, c.norm_eps, true);  // x += norm(t)
    ops::rmsnorm(g, x, L.ffn_norm, h, c.norm_eps);
    ops::matmul(g, L.gate_up, h, gate_up);
    ops::glu(g, gate_up.slice_cols(0, c.hidden), gate_up.slice_cols(c.hidden, c.hidden), act, ops::Activation::GeluTanh);
    ops::matmul(g, L.w_down, act, t);
    ops::rmsnorm(g, t, L.post_ffw_norm, x, c.norm_eps, true);
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, w_.output_norm, out, c.norm_eps); });
  if (s.n_outputs > 0 && c.final_softcap > 0) ops::softcap(g, s.logits, c.final_softcap, s.logits);
}

namespace {

// What sets Gemma 3 apart from Gemma 2 when loading.
struct GemmaVariant {
  int global_every;         // every n-th layer attends globally, the rest slide
  bool qk_norm;
  bool sliding_base;        // sliding layers have their own RoPE base (rope.freq_base_swa), unscaled
  int query_by_dim_layers;  // the 27B model's layer count: llama.cpp scales its queries by
                            // 1/sqrt(dim/heads) where a GGUF has no query_pre_attn_scalar
};

std::unique_ptr<Model> load_gemma(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source,
                                  const GemmaVariant& v) {
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
  for (const auto& [name, heads] : {std::pair{"blk.0.attn_q.weight", c.n_heads}, std::pair{"blk.0.attn_k.weight", c.n_kv_heads}})
    if (const auto rows = source.rows(name); rows && *rows != int64_t(heads) * c.head_dim)
      throw Error(h.where() + ": " + name + " has " + std::to_string(*rows) + " rows, not " + std::to_string(heads) + " heads of " +
                  h.spelled("attention.key_length") + " " + std::to_string(c.head_dim));
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, c.kv_width(), 0, c.q_width(), c.head_dim}};
  c.rope = rope_from(h, t, c.head_dim, c.context);
  c.sliding_rope = c.rope;
  if (v.sliding_base) {
    c.sliding_rope = RopeConfig{.pairing = c.rope.pairing, .head_dim = c.head_dim, .rotary_dim = c.rope.rotary_dim};
    c.sliding_rope.theta = h.real("rope.freq_base_swa", 10000.0);
  }
  c.validate();

  GemmaWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) {
    GemmaLayer L;
    L.attn_norm = t.tensor("blk.{l}.attn_norm.weight", l);
    L.qkv = t.stacked(device, {"blk.{l}.attn_q.weight", "blk.{l}.attn_k.weight", "blk.{l}.attn_v.weight"}, l);
    if (c.qk_norm) {
      L.q_norm = t.tensor("blk.{l}.attn_q_norm.weight", l);
      L.k_norm = t.tensor("blk.{l}.attn_k_norm.weight", l);
    }
    L.wo = t.weight("blk.{l}.attn_output.weight", l);
    L.post_attention_norm = t.tensor("blk.{l}.post_attention_norm.weight", l);
    L.ffn_norm = t.tensor("blk.{l}.ffn_norm.weight", l);
    L.gate_up = t.stacked(device, {"blk.{l}.ffn_gate.weight", "blk.{l}.ffn_up.weight"}, l);
    L.w_down = t.weight("blk.{l}.ffn_down.weight", l);
    L.post_ffw_norm = t.tensor("blk.{l}.post_ffw_norm.weight", l);
    w.layers.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<GemmaModel>(device, arch.name, c, std::move(w));
}

}  // namespace

std::unique_ptr<Model> load_gemma2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  return load_gemma(device, arch, h, source, {.global_every = 2, .qk_norm = false, .sliding_base = false, .query_by_dim_layers = 46});
}

std::unique_ptr<Model> load_gemma3(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  return load_gemma(device, arch, h, source, {.global_every = 6, .qk_norm = true, .sliding_base = true, .query_by_dim_layers = 62});
}

}  // namespace vkllm
