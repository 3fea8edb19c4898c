#include "models/chatglm.h"

#include <algorithm>
#include <cmath>

#include "models/source.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

std::vector<int64_t> chatglm_qkv_rows(int n_heads, int head_dim) {
  std::vector<int64_t> rows;
  for (int part = 0; part < 3; ++part)  // q, k, v
    for (int h = 0; h < n_heads; ++h)
      for (int i = 0; i < head_dim; ++i) rows.push_back(int64_t(h) * 3 * head_dim + int64_t(part) * head_dim + i);
  return rows;
}

RopeConfig ChatGlmConfig::rope() const {
  RopeConfig r;
  r.pairing = RopePairing::Glm2D;
  r.head_dim = head_dim();
  r.theta = 10000.0;
  return r;
}

void ChatGlmConfig::validate() const {
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || vocab <= 0 || context <= 0)
    throw Error("chatglm: every dimension must be positive");
  if (dim % n_heads || head_dim() % 4)
    throw Error("chatglm: dim " + std::to_string(dim) + " must split into " + std::to_string(n_heads) +
                " heads whose size is a multiple of 4 (two rotated halves of pairs)");
}

ChatGlmModel::ChatGlmModel(Device& device, ChatGlmConfig config, ChatGlmWeights weights)
    : Model(device, "chatglm", config.vocab, config.context), config_(config), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("chatglm: weights hold a different number of layers");
  rope_table_ = RopeTable::build(device, config_.rope(), 0, config_.context);
}

KvCacheConfig ChatGlmModel::cache_config(int64_t capacity, KvTypes types) const {
  return cache_shape(config_.n_layers, capacity, config_.n_heads, config_.head_dim(), types, config_.rope());
}

PositionPlan ChatGlmModel::plan_positions(std::span<const int32_t> held, std::span<const int32_t> added, int32_t offset) const {
  std::vector<int32_t> seq(held.begin(), held.end());
  seq.insert(seq.end(), added.begin(), added.end());
  const auto bos = std::find(seq.begin(), seq.end(), config_.bos_id);
  const auto gmask = std::find(std::make_reverse_iterator(bos), seq.rend(), config_.gmask_id);
  if (bos == seq.end() || gmask == seq.rend())
    throw Error("chatglm: a prompt must end with [gMASK] (" + std::to_string(config_.gmask_id) + ") and then BOS (" +
                std::to_string(config_.bos_id) + ")");
  const int32_t prefix = int32_t(bos - seq.begin()), mask_position = int32_t(seq.rend() - gmask) - 1 + offset;
  PositionPlan plan;
  plan.prefix = prefix;
  for (size_t i = held.size(); i < seq.size(); ++i) {
    const bool in_prompt = int32_t(i) < prefix;
    plan.positions.push_back(in_prompt ? int32_t(i) + offset : mask_position);
    plan.block_positions.push_back(in_prompt ? 0 : int32_t(i) - prefix + 1);
  }
  return plan;
}

void ChatGlmModel::record(Step& s, KvCache&, int64_t n) {
  const ChatGlmConfig& c = config_;
  Graph& g = *s.graph;
  auto scratch = [&](int64_t cols, const char* name) { return Model::scratch(s, n, cols, name); };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), att = scratch(c.dim, "attn");
  Tensor qkv = scratch(3 * c.dim, "qkv"), up = scratch(c.hidden, "up");
  const Tensor q = qkv.slice_cols(0, c.dim), k = qkv.slice_cols(c.dim, c.dim), v = qkv.slice_cols(2 * c.dim, c.dim);
  const Tensor query_positions = s.positions.slice_rows(0, 1);
  const float alpha = c.residual_alpha();

  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_heads;
  a.head_dim = c.head_dim();
  a.mask = ops::AttentionMask::PrefixLM;  // by slot: the prompt prefix both ways, the rest causal
  a.prefix = s.prefix;
  a.first_query_slot = Graph::step_param(kSlotFirst);

  // x = alpha * normed + w in + b: the GLM residual keeps the normalized input, scaled.
  auto residual = [&](const Tensor& normed, const Weight& w, const Tensor& b, const Tensor& in) {
    ops::scale(g, normed, alpha, x);
    ops::matmul(g, w, in, x, 0, {b, true});
  };
  ops::get_rows(g, w_.token_embd, s.tokens, x);
  for (int l = 0; l < c.n_layers; ++l) {
    const ChatGlmLayer& L = w_.layers[size_t(l)];
    ops::layernorm(g, x, L.attn_norm, L.attn_norm_bias, h, c.norm_eps);
    ops::matmul(g, L.qkv, h, qkv, 0, {L.bqkv});
    const Tensor qk = qkv.slice_cols(0, 2 * c.dim);  // q's heads, then k's: one rotation
    ops::rope(g, qk, qk, 2 * c.n_heads, rope_table_, s.positions);
    cache_attention(s, l, q, k, v, query_positions, att, a);
    residual(h, L.wo, L.bo, att);
    ops::layernorm(g, x, L.ffn_norm, L.ffn_norm_bias, h, c.norm_eps);
    ops::matmul(g, L.w_up, h, up, 0, {L.b_up});
    ops::gelu(g, up, up, ops::GeluForm::Tanh);
    residual(h, L.w_down, L.b_down, up);
  }
  output_head(s, x, h, w_.output, [&](const Tensor& in, const Tensor& out) { ops::layernorm(g, in, w_.output_norm, w_.output_norm_bias, out, c.norm_eps); });
}

std::unique_ptr<Model> load_chatglm6b(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& source) {
  ChatGlmConfig c;
  c.dim = h.integer("embedding_length");
  c.n_heads = h.integer("attention.head_count");
  c.context = h.integer("context_length");
  c.vocab = h.integer("vocab_size");
  c.hidden = h.integer("feed_forward_length", 4 * c.dim);
  c.norm_eps = float(h.real("attention.layer_norm_epsilon", 1e-5));
  c.gmask_id = h.integer("gmask_token_id", c.gmask_id);
  c.bos_id = h.integer("tokenizer.ggml.bos_token_id", c.bos_id);
  ArchTensors t{source, arch, {c.dim, c.hidden, c.vocab, c.context, c.dim, 0}};
  while (t.has("blk.{l}.attn_norm.weight", c.n_layers)) ++c.n_layers;
  c.alpha = float(h.real("residual_alpha", std::sqrt(2.0 * h.integer("block_count", c.n_layers))));
  c.validate();
  ChatGlmWeights w;
  w.token_embd = t.weight("token_embd.weight");
  w.output_norm = t.tensor("output_norm.weight");
  w.output_norm_bias = t.tensor("output_norm.bias");
  w.output = t.has("output.weight") ? t.weight("output.weight") : w.token_embd;  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_biased_block(t, l, c.dim));
  source.finish();
  return std::make_unique<ChatGlmModel>(device, c, std::move(w));
}

}  // namespace vkllm
