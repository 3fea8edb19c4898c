#include "models/bart.h"

#include <cmath>
#include <string>
#include <utility>

#include "models/source.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

namespace {
constexpr int64_t kPositionOffset = 2;  // fairseq's: rows 0 and 1 of the position tables are unused
}

void BartConfig::validate() const {
  if (dim <= 0 || hidden <= 0 || n_encoder_layers <= 0 || n_decoder_layers <= 0 || n_heads <= 0 || vocab <= 0 || context <= 0)
    throw Error("bart: every dimension must be positive");
  if (dim % n_heads) throw Error("bart: d_model " + std::to_string(dim) + " does not split into " + std::to_string(n_heads) + " heads");
  if (forced_bos >= vocab) throw Error("bart: the forced first token " + std::to_string(forced_bos) + " is not in the vocabulary");
}

BartModel::BartModel(Device& device, BartConfig config, BartWeights weights)
    : EncoderDecoderModel(device, "bart", config.vocab, config.context, config.decoder_start), config_(config), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.encoder.size()) != config_.n_encoder_layers || int(w_.decoder.size()) != config_.n_decoder_layers)
    throw Error("bart: weights hold a different number of layers");
  for (const BartStack* s : {&w_.encoder_stack, &w_.decoder_stack})
    if (s->positions.rows != config_.context + kPositionOffset)
      throw Error("bart: a position table has " + std::to_string(s->positions.rows) + " rows for " + std::to_string(config_.context) +
                  " positions (" + std::to_string(config_.context + kPositionOffset) + " expected)");
}

KvCacheConfig BartModel::cache_config(int64_t capacity, KvTypes types) const {
  // Learned positions: cached keys cannot be moved, as in GPT-2.
  KvCacheConfig c = cache_shape(config_.n_decoder_layers, capacity, config_.n_heads, config_.head_dim(), types, std::nullopt);
  c.cross_capacity = config_.context;
  return c;
}

std::vector<int32_t> BartModel::decoder_prompt() const {
  std::vector<int32_t> p = EncoderDecoderModel::decoder_prompt();
  if (config_.forced_bos >= 0) p.push_back(config_.forced_bos);
  return p;
}

void BartModel::embed(Graph& g, const BartStack& stack, const Tensor& tokens, const Tensor& positions, Tensor& out, Tensor& spare) const {
  ops::get_rows(g, w_.token_embd, tokens, spare);
  if (config_.scale_embedding) ops::scale(g, spare, std::sqrt(float(config_.dim)), spare);
  ops::get_rows(g, stack.positions.slice_rows(kPositionOffset, config_.context), positions, out);
  ops::add(g, spare, out, spare);
  ops::layernorm(g, spare, stack.embedding_norm.weight, stack.embedding_norm.bias, out, config_.norm_eps);
}

void BartModel::post_norm(Graph& g, const BartNorm& norm, Tensor& x, Tensor& spare) const {
  ops::layernorm(g, x, norm.weight, norm.bias, spare, config_.norm_eps);
  std::swap(x, spare);
}

void BartModel::feed_forward(Graph& g, const BartFfn& f, Tensor& x, Tensor& spare, const Tensor& up) const {
  ops::matmul(g, f.up, x, up, 0, {f.up_bias});
  switch (config_.activation) {
    case BartActivation::Gelu: ops::gelu(g, up, up, ops::GeluForm::Erf); break;
    case BartActivation::GeluTanh: ops::gelu(g, up, up, ops::GeluForm::Tanh); break;
    case BartActivation::Relu: ops::relu(g, up, up); break;
  }
  ops::matmul(g, f.down, up, x, 0, {f.down_bias, true});
  post_norm(g, f.norm, x, spare);
}

Tensor BartModel::record_encoder(const EncoderPass& p) {
  const BartConfig& c = config_;
  Graph& g = p.graph;
  Tensor x = p.tensor(p.n, c.dim, "x"), spare = p.tensor(p.n, c.dim, "h"), qkv = p.tensor(p.n, 3 * c.dim, "qkv");
  const Tensor att = p.tensor(p.n, c.dim, "attn"), up = p.tensor(p.n, c.hidden, "up");
  ops::AttentionParams a;
  a.n_heads = a.n_kv_heads = c.n_heads;
  a.head_dim = c.head_dim();
  a.mask = ops::AttentionMask::None;
  embed(g, w_.encoder_stack, p.tokens, p.positions, x, spare);
  for (const BartEncoderLayer& L : w_.encoder) {
    ops::matmul(g, L.self.qkv, x, qkv, 0, {L.self.qkv_bias});
    ops::attention(g, qkv.slice_cols(0, c.dim), qkv.slice_cols(c.dim, c.dim), qkv.slice_cols(2 * c.dim, c.dim), p.positions, p.positions,
                   att, a);
    ops::matmul(g, L.self.out, att, x, 0, {L.self.out_bias, true});
    post_norm(g, L.self.norm, x, spare);
    feed_forward(g, L.ffn, x, spare, up);
  }
  return x;
}

EncoderDecoderModel::CrossProjection BartModel::cross_projection(int layer) const {
  const BartDecoderLayer& L = w_.decoder[size_t(layer)];
  return {L.cross_kv, L.cross_kv_bias};
}

void BartModel::record(Step& s, KvCache& cache, int64_t n) {
  const BartConfig& c = config_;
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), spare = scratch(c.dim, "h"), qkv = scratch(3 * c.dim, "qkv");
  const Tensor att = scratch(c.dim, "attn"), up = scratch(c.hidden, "up"), cq = scratch(c.dim, "cross q");
  const Tensor q = qkv.slice_cols(0, c.dim), k = qkv.slice_cols(c.dim, c.dim), v = qkv.slice_cols(2 * c.dim, c.dim);
  const KvCache& cross = cache.cross();

  ops::AttentionParams self;
  self.n_heads = self.n_kv_heads = c.n_heads;
  self.head_dim = c.head_dim();
  self.n_kv = Graph::step_param(kSlotNKv);
  ops::AttentionParams encoder = self;
  encoder.mask = ops::AttentionMask::None;
  encoder.n_kv = Graph::step_param(kSlotCrossNKv);

  embed(g, w_.decoder_stack, s.tokens, s.positions, x, spare);
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    const BartDecoderLayer& L = w_.decoder[size_t(l)];
    ops::matmul(g, L.self.qkv, x, qkv, 0, {L.self.qkv_bias});
    cache.write_layer(g, l, k, v, Graph::step_param(kSlotFirst));
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, att, self);
    probe_attention(s, l, q, cache, s.positions, self);
    ops::matmul(g, L.self.out, att, x, 0, {L.self.out_bias, true});
    post_norm(g, L.self.norm, x, spare);
    ops::matmul(g, L.cross.qkv, x, cq, 0, {L.cross.qkv_bias});
    ops::attention(g, cq, cross.k(l), cross.v(l), cross.slot_positions(), s.positions, att, encoder);
    probe_attention(s, l, cq, cross, s.positions, encoder, true);
    ops::matmul(g, L.cross.out, att, x, 0, {L.cross.out_bias, true});
    post_norm(g, L.cross.norm, x, spare);
    feed_forward(g, L.ffn, x, spare, up);
  }
  output_head(s, x, spare, w_.output, {}, w_.output_bias);  // no final norm: the blocks end normed
}

std::unique_ptr<Model> load_bart(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  BartConfig c;
  c.dim = h.integer("embedding_length");
  c.hidden = h.integer("feed_forward_length");
  c.n_encoder_layers = h.integer("block_count");
  c.n_decoder_layers = h.integer("decoder_block_count", c.n_encoder_layers);
  c.n_heads = h.integer("attention.head_count");
  c.vocab = h.integer("vocab_size");
  c.context = h.integer("context_length");
  c.norm_eps = float(h.real("attention.layer_norm_epsilon", 1e-5));
  c.scale_embedding = h.flag("scale_embedding", false);
  c.decoder_start = h.integer("decoder_start_token_id", 2);
  c.forced_bos = h.integer("forced_bos_token_id", -1);
  // One width for both stacks, as every released BART has.
  for (const char* key : {"decoder_feed_forward_length", "decoder_attention.head_count"}) {
    const std::string encoder_key = std::string(key).substr(std::string("decoder_").size());
    if (h.integer(key, h.integer(encoder_key)) != h.integer(encoder_key))
      throw Error(h.where() + ": " + h.spelled(key) + " differs from " + h.spelled(encoder_key) + " (vkllm needs both stacks alike)");
  }
  if (const auto a = h.text("activation")) {
    if (*a == "gelu") c.activation = BartActivation::Gelu;
    else if (*a == "gelu_new" || *a == "gelu_pytorch_tanh") c.activation = BartActivation::GeluTanh;
    else if (*a == "relu") c.activation = BartActivation::Relu;
    else throw Error(h.where() + ": " + h.spelled("activation") + " '" + *a + "' is not supported (gelu, gelu_new and relu are)");
  }
  c.validate();
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context + kPositionOffset, c.dim, 0, c.dim}};
  auto norm = [&](const std::string& name, int l = -1) { return BartNorm{t.tensor(name + ".weight", l), t.tensor(name + ".bias", l)}; };
  auto attention = [&](const std::string& b, const std::string& p, int l, bool cross) {
    BartAttention a;
    std::vector<std::string> parts{b + p + "_q"};
    if (!cross) parts.insert(parts.end(), {b + p + "_k", b + p + "_v"});
    std::vector<std::string> weights, biases;
    for (const std::string& part : parts) {
      weights.push_back(part + ".weight");
      biases.push_back(part + ".bias");
    }
    a.qkv = t.stacked(device, weights, l);
    a.qkv_bias = t.stacked_bias(device, biases, l, true);
    a.out = t.weight(b + p + "_o.weight", l);
    a.out_bias = t.tensor(b + p + "_o.bias", l);
    a.norm = norm(b + p + "_norm", l);
    return a;
  };
  auto ffn = [&](const std::string& b, int l) {
    return BartFfn{t.weight(b + "ffn_up.weight", l), t.weight(b + "ffn_down.weight", l), t.tensor(b + "ffn_up.bias", l),
                   t.tensor(b + "ffn_down.bias", l), norm(b + "ffn_norm", l)};
  };
  BartWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.encoder_stack = {t.tensor("enc.position_embd.weight"), norm("enc.embd_norm")};
  w.decoder_stack = {t.tensor("dec.position_embd.weight"), norm("dec.embd_norm")};
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;
  w.output_bias = t.optional("output.bias");
  for (int l = 0; l < c.n_encoder_layers; ++l) {
    const std::string b = "enc.blk.{l}.";
    w.encoder.push_back({attention(b, "attn", l, false), ffn(b, l)});
  }
  for (int l = 0; l < c.n_decoder_layers; ++l) {
    const std::string b = "dec.blk.{l}.";
    BartDecoderLayer L{attention(b, "attn", l, false), attention(b, "cross_attn", l, true), {}, {}, ffn(b, l)};
    L.cross_kv = t.stacked(device, {b + "cross_attn_k.weight", b + "cross_attn_v.weight"}, l);
    L.cross_kv_bias = t.stacked_bias(device, {b + "cross_attn_k.bias", b + "cross_attn_v.bias"}, l, true);
    w.decoder.push_back(std::move(L));
  }
  source.finish();
  return std::make_unique<BartModel>(device, c, std::move(w));
}

}  // namespace vkllm
