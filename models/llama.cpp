#include "models/llama.h"

#include <string>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

namespace {
constexpr uint32_t kSlotFirst = 0;  // step value: the cache slot of the first new token
constexpr uint32_t kSlotNKv = 1;    // step value: keys in the cache after the append
}  // namespace

void LlamaConfig::validate() const {
  if (dim <= 0 || hidden <= 0 || n_layers <= 0 || n_heads <= 0 || n_kv_heads <= 0 || vocab <= 0 || context <= 0)
    throw Error("llama: every dimension must be positive");
  if (dim % n_heads || n_heads % n_kv_heads)
    throw Error("llama: dim " + std::to_string(dim) + " must split into " + std::to_string(n_heads) +
                " heads, a multiple of " + std::to_string(n_kv_heads) + " kv heads");
  if (rope.head_dim != head_dim()) throw Error("llama: RoPE head_dim differs from dim / n_heads");
  rope.validate();
}

LlamaModel::LlamaModel(Device& device, LlamaConfig config, LlamaWeights weights)
    : device_(device), config_(std::move(config)), w_(std::move(weights)) {
  config_.validate();
  if (int(w_.layers.size()) != config_.n_layers) throw Error("llama: weights hold a different number of layers");
  rope_table_ = RopeTable::build(device_, config_.rope, 0, config_.context);
}

KvCacheConfig LlamaModel::cache_config(int64_t capacity, DType dtype) const {
  KvCacheConfig c;
  c.n_layers = config_.n_layers;
  c.capacity = capacity;
  c.n_kv_heads = config_.n_kv_heads;
  c.head_dim = config_.head_dim();
  c.dtype = dtype;
  c.rope = config_.rope;
  return c;
}

LlamaModel::Step& LlamaModel::step_for(KvCache& cache, int64_t n) {
  // Graphs recorded against caches that no longer exist hold their memory: release them.
  std::erase_if(steps_, [](const auto& entry) { return entry.second.cache_alive.expired(); });
  auto key = std::make_pair(cache.id(), n);
  if (auto it = steps_.find(key); it != steps_.end()) return it->second;
  const LlamaConfig& c = config_;
  const int64_t kv_dim = int64_t(c.n_kv_heads) * c.head_dim();
  Step s;
  s.cache_alive = cache.lifetime();
  s.graph = std::make_unique<Graph>(device_);
  Graph& g = *s.graph;
  s.tokens = device_.tensor(DType::I32, 1, n, "tokens");
  s.positions = device_.tensor(DType::I32, 1, n, "positions");
  s.logits = device_.tensor(DType::F32, n, c.vocab, "logits");
  auto scratch = [&](int64_t cols, const char* name) {
    s.scratch.push_back(device_.tensor(DType::F32, n, cols, name));
    return s.scratch.back();
  };
  Tensor x = scratch(c.dim, "x"), h = scratch(c.dim, "h"), q = scratch(c.dim, "q"), att = scratch(c.dim, "attn");
  Tensor k = scratch(kv_dim, "k"), v = scratch(kv_dim, "v");
  Tensor gate = scratch(c.hidden, "gate"), up = scratch(c.hidden, "up");

  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim();
  a.n_kv = Graph::step_param(kSlotNKv);

  ops::get_rows(g, w_.token_embd, s.tokens, x);
  for (int l = 0; l < c.n_layers; ++l) {
    const LlamaLayer& L = w_.layers[size_t(l)];
    ops::rmsnorm(g, x, L.attn_norm, h, c.norm_eps);
    ops::matmul(g, L.wq, h, q);
    ops::matmul(g, L.wk, h, k);
    ops::matmul(g, L.wv, h, v);
    for (auto [bias, t] : {std::pair{&L.bq, &q}, {&L.bk, &k}, {&L.bv, &v}})
      if (bias->storage) ops::add(g, *t, *bias, *t);
    ops::rope(g, q, q, c.n_heads, rope_table_, s.positions);
    ops::rope(g, k, k, c.n_kv_heads, rope_table_, s.positions);
    cache.write_layer(g, l, k, v, Graph::step_param(kSlotFirst));
    ops::attention(g, q, cache.k(l), cache.v(l), cache.slot_positions(), s.positions, att, a);
    ops::matmul(g, L.wo, att, h);
    ops::add(g, x, h, x);
    ops::rmsnorm(g, x, L.ffn_norm, h, c.norm_eps);
    ops::matmul(g, L.w_gate, h, gate);
    ops::matmul(g, L.w_up, h, up);
    ops::silu(g, gate, gate);
    ops::mul(g, gate, up, gate);
    ops::matmul(g, L.w_down, gate, h);
    ops::add(g, x, h, x);
  }
  ops::rmsnorm(g, x, w_.output_norm, h, c.norm_eps);
  ops::matmul(g, w_.output, h, s.logits);
  return steps_.emplace(key, std::move(s)).first->second;
}

std::vector<float> LlamaModel::forward(KvCache& cache, std::span<const int32_t> tokens, std::span<const int32_t> positions) {
  if (tokens.size() != positions.size()) throw Error("llama: one position per token");
  if (tokens.empty()) return {};
  for (int32_t t : tokens)
    if (t < 0 || t >= config_.vocab)
      throw Error("token id " + std::to_string(t) + " is out of range (vocabulary of " + std::to_string(config_.vocab) + ")");
  for (int32_t p : positions)
    if (p < 0 || p >= config_.context)
      throw Error("position " + std::to_string(p) + " is outside the model's context of " + std::to_string(config_.context));
  const int64_t n = int64_t(tokens.size());
  Step& s = step_for(cache, n);
  const int64_t first = cache.reserve(positions);
  device_.upload(s.tokens, tokens.data());
  device_.upload(s.positions, positions.data());
  s.graph->set_step(kSlotFirst, uint32_t(first));
  s.graph->set_step(kSlotNKv, uint32_t(cache.size()));
  try {
    s.graph->run();
  } catch (...) {
    cache.truncate(first);
    throw;
  }
  return device_.download<float>(s.logits);
}

}  // namespace vkllm
