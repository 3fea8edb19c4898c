#include "models/llama.h"

#include <string>

#include "models/source.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

void LlamaConfig::validate() const {
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 || vocab <= 0 || context <= 0)
    throw Error("llama: every dimension must be positive");
  if (dim % n_heads || n_heads % n_kv_heads)
    throw Error("llama: dim " + std::to_string(dim) + " must split into " + std::to_string(n_heads) +
                " heads, a multiple of " + std::to_string(n_kv_heads) + " kv heads");
  if (rope.head_dim != head_dim()) throw Error("llama: RoPE head_dim differs from dim / n_heads");
  if (!sliding_window.empty() && int(sliding_window.size()) != n_layers)
    throw Error("llama: sliding_window needs one entry per layer");
  for (int w : sliding_window)
    if (w < 0) throw Error("llama: a negative sliding window");
  rope.validate();
}

LlamaModel::LlamaModel(Device& device, LlamaConfig config, LlamaWeights weights, std::string arch)
    : Model(device, std::move(arch), config.vocab, config.context), config_(std::move(config)), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("llama: weights hold a different number of layers");
  const int64_t kv_dim = int64_t(config_.n_kv_heads) * config_.head_dim();
  for (const LlamaLayer& L : w_.layers)
    if (L.qkv.rows() != config_.dim + 2 * kv_dim || L.qkv.cols() != config_.dim || L.gate_up.rows() != 2 * config_.hidden ||
        L.gate_up.cols() != config_.dim)
      throw Error("llama: a layer's q/k/v or gate/up projections are not shaped for dim " + std::to_string(config_.dim) +
                  ", kv dim " + std::to_string(kv_dim) + " and hidden " + std::to_string(config_.hidden));
  rope_table_ = RopeTable::build(device, config_.rope, 0, config_.context);
}

KvCacheConfig LlamaModel::cache_config(int64_t capacity, KvTypes types) const {
  KvCacheConfig c = cache_shape(config_.n_layers, capacity, config_.n_kv_heads, config_.head_dim(), types, config_.rope);
  c.sliding_window = config_.sliding_window;
  return c;
}

void LlamaModel::record(Step& s, KvCache& cache, int64_t n) {
  const LlamaConfig& c = config_;
  const int64_t kv_dim = int64_t(c.n_kv_heads) * c.head_dim();
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), att = scratch(c.dim, "attn");
  Tensor qkv = scratch(c.dim + 2 * kv_dim, "qkv"), gate_up = scratch(2 * c.hidden, "gate_up"), act = scratch(c.hidden, "act");
  const Tensor q = qkv.slice_cols(0, c.dim), k = qkv.slice_cols(c.dim, kv_dim), v = qkv.slice_cols(c.dim + kv_dim, kv_dim);

  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim();

  ops::get_rows(g, w_.token_embd, s.tokens, x);
  for (int l = 0; l < c.n_layers; ++l) {
    const LlamaLayer& L = w_.layers[size_t(l)];
    ops::rmsnorm(g, x, L.attn_norm, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv, 0, {L.bqkv});  // biases: Qwen2; absent elsewhere
    const Tensor qk = qkv.slice_cols(0, c.dim + kv_dim);  // q's heads, then k's: one rotation
    ops::rope(g, qk, qk, c.n_heads + c.n_kv_heads, rope_table_, s.positions);
    a.window = cache.window(l);
    a.mask = a.window > 0 ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    cache_attention(s, l, q, k, v, s.positions, att, a);
    ops::matmul(g, L.wo, att, x, 0, {{}, true});
    ops::rmsnorm(g, x, L.ffn_norm, h, c.norm_eps);
    ops::matmul(g, L.gate_up, h, gate_up);
    ops::glu(g, gate_up.slice_cols(0, c.hidden), gate_up.slice_cols(c.hidden, c.hidden), act, ops::Activation::Silu);
    ops::matmul(g, L.w_down, act, x, 0, {{}, true});
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::rmsnorm(g, in, w_.output_norm, out, c.norm_eps); });
}

std::unique_ptr<Model> load_llama(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  LlamaConfig c;
  c.dim = h.integer("embedding_length");
  c.hidden = h.integer("feed_forward_length");
  c.n_layers = h.integer("block_count");
  c.n_heads = h.integer("attention.head_count");
  c.n_kv_heads = h.integer("attention.head_count_kv", c.n_heads);
  c.context = h.integer("context_length");
  c.vocab = h.integer("vocab_size");
  c.norm_eps = float(h.real("attention.layer_norm_rms_epsilon", 1e-5));
  if (c.n_heads <= 0 || c.dim % c.n_heads)
    throw Error(h.where() + ": " + h.spelled("embedding_length") + " is not a multiple of " + h.spelled("attention.head_count"));
  if (h.number("attention.key_length") && h.integer("attention.key_length") != c.head_dim())
    throw Error(h.where() + ": a head size (" + h.spelled("attention.key_length") + ") other than embedding / heads is not supported yet");
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, int64_t(c.n_kv_heads) * c.head_dim(), 0}};
  c.rope = rope_from(h, t, c.head_dim(), c.context);
  c.sliding_window = h.sliding_windows(c.n_layers);
  c.validate();

  LlamaWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) {
    LlamaLayer L;
    L.attn_norm = t.tensor("blk.{l}.attn_norm.weight", l);
    L.qkv = t.stacked(device, {"blk.{l}.attn_q.weight", "blk.{l}.attn_k.weight", "blk.{l}.attn_v.weight"}, l);
    L.bqkv = t.stacked_bias(device, {"blk.{l}.attn_q.bias", "blk.{l}.attn_k.bias", "blk.{l}.attn_v.bias"}, l);  // Qwen2
    L.wo = t.weight("blk.{l}.attn_output.weight", l);
    L.ffn_norm = t.tensor("blk.{l}.ffn_norm.weight", l);
    L.gate_up = t.stacked(device, {"blk.{l}.ffn_gate.weight", "blk.{l}.ffn_up.weight"}, l);
    L.w_down = t.weight("blk.{l}.ffn_down.weight", l);
    w.layers.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<LlamaModel>(device, c, std::move(w), arch.name);
}

}  // namespace vkllm
