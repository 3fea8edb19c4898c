#include "models/gpt2.h"

#include "models/source.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

void Gpt2Config::validate() const {
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || vocab <= 0 || context <= 0)
    throw Error("gpt2: every dimension must be positive");
  if (dim % n_heads) throw Error("gpt2: dim " + std::to_string(dim) + " does not split into " + std::to_string(n_heads) + " heads");
}

void set_fused_qkv(Gpt2Layer& L, Weight qkv, Tensor qkv_bias, int64_t dim) {
  if (qkv.rows() != 3 * dim || qkv_bias.cols != 3 * dim)
    throw Error("fused q/k/v: " + std::to_string(qkv.rows()) + " rows and " + std::to_string(qkv_bias.cols) + " biases, expected " +
                std::to_string(3 * dim));
  L.qkv.parts = {std::move(qkv)};
  L.bqkv = std::move(qkv_bias);
}

Gpt2Model::Gpt2Model(Device& device, Gpt2Config config, Gpt2Weights weights)
    : Model(device, "gpt2", config.vocab, config.context), config_(config), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("gpt2: weights hold a different number of layers");
  if (w_.position_embd.rows < config_.context)
    throw Error("gpt2: the position embedding has " + std::to_string(w_.position_embd.rows) + " rows for a context of " +
                std::to_string(config_.context));
}

KvCacheConfig Gpt2Model::cache_config(int64_t capacity, KvTypes types) const {
  // No rotary embedding: positions live in the embedding, so cached keys cannot be moved.
  return cache_shape(config_.n_layers, capacity, config_.n_heads, config_.head_dim(), types, std::nullopt);
}

void Gpt2Model::record(Step& s, KvCache&, int64_t n) {
  const Gpt2Config& c = config_;
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), att = scratch(c.dim, "attn"), up = scratch(c.hidden, "up");
  Tensor qkv = scratch(3 * c.dim, "qkv");
  const Tensor q = qkv.slice_cols(0, c.dim), k = qkv.slice_cols(c.dim, c.dim), v = qkv.slice_cols(2 * c.dim, c.dim);

  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_heads;
  a.head_dim = c.head_dim();

  ops::get_rows(g, w_.token_embd, s.tokens, x);
  ops::get_rows(g, w_.position_embd, s.positions, h);
  ops::add(g, x, h, x);
  for (int l = 0; l < c.n_layers; ++l) {
    const Gpt2Layer& L = w_.layers[size_t(l)];
    ops::layernorm(g, x, L.attn_norm, L.attn_norm_bias, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv, 0, {L.bqkv});
    cache_attention(s, l, q, k, v, s.positions, att, a);
    ops::matmul(g, L.wo, att, x, 0, {L.bo, true});
    ops::layernorm(g, x, L.ffn_norm, L.ffn_norm_bias, h, c.norm_eps);
    ops::matmul(g, L.w_up, h, up, 0, {L.b_up});
    ops::gelu(g, up, up, ops::GeluForm::Tanh);
    ops::matmul(g, L.w_down, up, x, 0, {L.b_down, true});
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::layernorm(g, in, w_.output_norm, w_.output_norm_bias, out, c.norm_eps); });
}

Gpt2Layer load_biased_block(ArchTensors& t, int l, int64_t dim) {
  Gpt2Layer L;
  L.attn_norm = t.tensor("blk.{l}.attn_norm.weight", l);
  L.attn_norm_bias = t.tensor("blk.{l}.attn_norm.bias", l);
  set_fused_qkv(L, t.weight("blk.{l}.attn_qkv.weight", l), t.tensor("blk.{l}.attn_qkv.bias", l), dim);
  L.wo = t.weight("blk.{l}.attn_output.weight", l);
  L.bo = t.tensor("blk.{l}.attn_output.bias", l);
  L.ffn_norm = t.tensor("blk.{l}.ffn_norm.weight", l);
  L.ffn_norm_bias = t.tensor("blk.{l}.ffn_norm.bias", l);
  L.w_up = t.weight("blk.{l}.ffn_up.weight", l);
  L.b_up = t.tensor("blk.{l}.ffn_up.bias", l);
  L.w_down = t.weight("blk.{l}.ffn_down.weight", l);
  L.b_down = t.tensor("blk.{l}.ffn_down.bias", l);
  return L;
}

std::unique_ptr<Model> load_gpt2(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  Gpt2Config c;
  c.dim = h.integer("embedding_length");
  c.n_layers = h.integer("block_count");
  c.n_heads = h.integer("attention.head_count");
  c.context = h.integer("context_length");
  c.vocab = h.integer("vocab_size");
  c.hidden = h.integer("feed_forward_length", 4 * c.dim);
  c.norm_eps = float(h.real("attention.layer_norm_epsilon", 1e-5));
  if (const auto a = h.text("activation"); a && *a != "gelu_new" && *a != "gelu_pytorch_tanh")
    throw Error(h.where() + ": " + h.spelled("activation") + " '" + *a + "' is not supported (gelu_new is)");
  c.validate();
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, c.dim, 0}};
  Gpt2Weights w;
  w.token_embd = t.weight("token_embd.weight");
  w.position_embd = t.tensor("position_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output_norm_bias = t.tensor("output_norm.bias");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_biased_block(t, l, c.dim));
  source.finish();
  return std::make_unique<Gpt2Model>(device, c, std::move(w));
}

}  // namespace vkllm
