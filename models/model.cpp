#include "models/model.h"

#include <algorithm>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/ops.h"

namespace vkllm {

Model::Model(Device& device, std::string arch, int vocab, int context)
    : device_(device), arch_(std::move(arch)), vocab_(vocab), context_(context) {}

Model::~Model() = default;

KvCacheConfig Model::cache_shape(int n_layers, int64_t capacity, int n_kv_heads, int head_dim, KvTypes types,
                                 std::optional<RopeConfig> rope) {
  KvCacheConfig c;
  c.n_layers = n_layers;
  c.capacity = capacity;
  c.n_kv_heads = n_kv_heads;
  c.head_dim = head_dim;
  c.types = types;
  c.rope = std::move(rope);
  return c;
}

void Model::check_tokens(std::span<const int32_t> tokens) const {
  for (int32_t t : tokens)
    if (t < 0 || t >= vocab_)
      throw Error("token id " + std::to_string(t) + " is out of range (vocabulary of " + std::to_string(vocab_) + ")");
    else if (t == refused_.first)
      throw Error(arch_ + ": token id " + std::to_string(t) + " is " + refused_.second);
}

KvCacheConfig Model::cache_config(int64_t capacity, int64_t encoder_capacity, KvTypes types) const {
  KvCacheConfig c = cache_config(capacity, types);
  if (encoder_capacity == 0) return c;
  if (!encoder_decoder()) throw Error(arch_ + " is a decoder-only model: it has no encoder input to make room for");
  if (encoder_capacity < 0 || encoder_capacity > c.cross_capacity)
    throw Error(arch_ + ": an encoder input of " + std::to_string(encoder_capacity) + " tokens is longer than the model accepts (" +
                std::to_string(c.cross_capacity) + ")");
  c.cross_capacity = encoder_capacity;
  return c;
}

void Model::encode(KvCache&, std::span<const int32_t>) {
  throw Error(arch_ + " is a decoder-only model: it takes no encoder input");
}

PositionPlan Model::plan_positions(std::span<const int32_t> held, std::span<const int32_t> added, int32_t offset) const {
  PositionPlan plan;
  for (size_t i = 0; i < added.size(); ++i) plan.positions.push_back(int32_t(held.size() + i) + offset);
  return plan;
}

Tensor Model::scratch(Step& s, int64_t rows, int64_t cols, const char* name, MemoryKind kind) {
  const int taken = s.scratch_taken[{name, cols}]++;
  Tensor& buffer = arena_[{name, cols, taken}];
  if (buffer.rows < rows) {
    // Grow to a power of two rows, so that growing is rare, but not past one descriptor's range
    // where the exact size would fit in one (ops that need a single range keep getting one).
    const uint64_t row_bytes = uint64_t(cols) * 4, range = device_.caps().max_buffer_range;
    int64_t capacity = 16;
    while (capacity < rows) capacity *= 2;
    if (uint64_t(rows) * row_bytes <= range) capacity = std::min<int64_t>(capacity, int64_t(range / row_bytes));
    buffer = Tensor{};  // release the old buffer first (steps still holding it are dropped)
    buffer = kind == MemoryKind::Host ? device_.io_tensor(DType::F32, std::max(capacity, rows), cols, name)
                                      : device_.tensor(DType::F32, std::max(capacity, rows), cols, name);
    ++arena_generation_;
  }
  return buffer.slice_rows(0, rows);
}

void Model::probe_attention(Step& s, int layer, const Tensor& q, const KvCache& cache, const Tensor& query_positions,
                            const ops::AttentionParams& a, bool cross) {
  if (!s.probe) return;
  std::vector<Tensor>& probs = cross ? s.cross_probs : s.probs;
  if (int(probs.size()) != layer) throw Error(arch_ + ": layers must be probed in order");
  probs.push_back(scratch(s, int64_t(a.n_heads) * q.rows, cache.capacity(), cross ? "cross attention probs" : "attention probs"));
  ops::attention_probs(*s.graph, q, cache.k(layer), cache.slot_positions(), query_positions, probs.back(), a);
}

void Model::probe_merged_attention(Step& s, int layer, const Tensor& q, const KvCache& cache, const Tensor& query_positions,
                                   const ops::AttentionParams& self, const ops::AttentionParams& cross) {
  if (!s.probe) return;
  if (int(s.probs.size()) != layer) throw Error(arch_ + ": layers must be probed in order");
  const KvCache& x = cache.cross();
  const int64_t rows = int64_t(self.n_heads) * q.rows, n = cache.capacity(), nx = x.capacity();
  const Tensor scores = scratch(s, rows, n + nx, "merged attention scores");
  const Tensor probs = scratch(s, rows, n + nx, "merged attention probs");
  ops::attention_probs(*s.graph, q, cache.k(layer), cache.slot_positions(), query_positions, scores.slice_cols(0, n), self, true);
  ops::attention_probs(*s.graph, q, x.k(layer), x.slot_positions(), query_positions, scores.slice_cols(n, nx), cross, true);
  ops::softmax(*s.graph, scores, probs);
  s.probs.push_back(probs.slice_cols(0, n));
  s.cross_probs.push_back(probs.slice_cols(n, nx));
}

void Model::cache_attention(Step& s, int layer, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& query_positions,
                            const Tensor& out, ops::AttentionParams a) {
  for (const StepPart& p : s.parts) {
    const bool whole = s.parts.size() == 1;
    auto rows = [&](const Tensor& t) { return whole ? t : t.slice_rows(p.first_row, p.rows); };
    const Tensor positions = whole ? query_positions : query_positions.slice_cols(p.first_row, p.rows);
    p.cache->write_layer(*s.graph, layer, rows(k), rows(v), Graph::step_param(p.slot_first));
    a.n_kv = Graph::step_param(p.slot_n_kv);
    ops::attention(*s.graph, rows(q), p.cache->k(layer), p.cache->v(layer), p.cache->slot_positions(), positions, rows(out), a);
    probe_attention(s, layer, q, *p.cache, query_positions, a);  // probes take one sequence (forward)
  }
}

void Model::output_head(Step& s, const Tensor& x, const Tensor& spare, const Weight& output,
                        const std::function<void(const Tensor& in, const Tensor& out)>& norm, const Tensor& bias) {
  if (s.n_outputs == 0) return;
  Tensor rows = x;
  if (s.output_rows.storage) {
    rows = scratch(s, s.n_outputs, x.cols, "output rows");
    ops::gather_rows(*s.graph, x, s.output_rows, rows);
  }
  Tensor normed = rows;
  if (norm) {
    normed = spare.slice_rows(0, s.n_outputs);
    norm(rows, normed);
  }
  ops::matmul(*s.graph, output, normed, s.logits, s.n, {bias});  // the kernel all n rows would take
}

Model::Step& Model::step_for(std::vector<StepPart> parts, int64_t n_outputs, int32_t prefix, bool probe) {
  // Steps recorded against caches that no longer exist are of no further use: release them.
  // (Steps bound to replaced arena buffers already went when the arena grew, below.)
  std::erase_if(steps_, [](const auto& entry) {
    return std::any_of(entry.second.caches_alive.begin(), entry.second.caches_alive.end(), [](const auto& c) { return c.expired(); });
  });
  std::vector<std::pair<uint64_t, int64_t>> sequences;
  int64_t n = 0;
  for (const StepPart& p : parts) {
    sequences.emplace_back(p.cache->id(), p.rows);
    n += p.rows;
  }
  KvCache& cache = *parts.front().cache;  // every part's cache has its shape
  auto key = std::make_tuple(std::move(sequences), n_outputs, prefix, probe);
  if (auto it = steps_.find(key); it != steps_.end()) {
    it->second.last_used = ++uses_;
    return it->second;
  }
  if (steps_.size() >= kMaxSteps)
    steps_.erase(std::min_element(steps_.begin(), steps_.end(),
                                  [](const auto& a, const auto& b) { return a.second.last_used < b.second.last_used; }));
  Step s;
  for (const StepPart& p : parts) s.caches_alive.push_back(p.cache->lifetime());
  s.parts = std::move(parts);
  s.graph = std::make_unique<Graph>(device_);
  s.n = n;
  s.n_outputs = n_outputs < 0 ? n : n_outputs;
  // Inputs and outputs in mapped memory: a step is one submission, with no transfer around it.
  s.tokens = device_.io_tensor(DType::I32, 1, n, "tokens");
  s.positions = device_.io_tensor(DType::I32, cache.two_d() ? 2 : 1, n, "positions");
  if (n_outputs > 0) s.output_rows = device_.io_tensor(DType::I32, 1, n_outputs, "output rows");
  s.prefix = prefix;
  s.probe = probe;
  if (s.n_outputs > 0) s.logits = scratch(s, s.n_outputs, vocab_, "logits", MemoryKind::Host);
  for (const StepPart& p : s.parts)
    p.cache->write_positions(*s.graph, s.parts.size() == 1 ? s.positions : s.positions.slice_cols(p.first_row, p.rows),
                             Graph::step_param(p.slot_first));
  record(s, cache, n);
  s.arena_generation = arena_generation_;
  s.last_used = ++uses_;
  // The arena grew while recording: steps bound to the replaced buffers go now, with them.
  std::erase_if(steps_, [&](const auto& entry) { return entry.second.arena_generation != arena_generation_; });
  return steps_.emplace(key, std::move(s)).first->second;
}

std::vector<float> Model::forward(KvCache& cache, std::span<const int32_t> tokens, std::span<const int32_t> positions,
                                  const ForwardExtras& extras) {
  if (tokens.size() != positions.size()) throw Error(arch_ + ": one position per token");
  if (tokens.empty()) return {};
  check_tokens(tokens);
  for (int32_t p : positions)
    if (p < 0 || p >= context_)
      throw Error("position " + std::to_string(p) + " is outside the model's context of " + std::to_string(context_));
  for (int32_t p : extras.block_positions)
    if (p < 0 || p >= context_)
      throw Error("block position " + std::to_string(p) + " is outside the model's context of " + std::to_string(context_));
  if (extras.prefix < 0) throw Error(arch_ + ": negative prefix length");
  const int64_t n = int64_t(tokens.size());
  // Output rows that are every row in order take the plain path; others are gathered.
  int64_t n_outputs = -1;
  if (extras.outputs) {
    bool in_order = int64_t(extras.outputs->size()) == n;
    for (size_t i = 0; i < extras.outputs->size(); ++i) {
      const int32_t r = (*extras.outputs)[i];
      if (r < 0 || r >= n) throw Error("output row " + std::to_string(r) + " is not in the batch of " + std::to_string(n) + " tokens");
      in_order = in_order && r == int32_t(i);
    }
    if (!in_order) n_outputs = int64_t(extras.outputs->size());
  }
  if (encoder_decoder() && (!cache.has_cross() || cache.cross().size() == 0))
    throw Error(arch_ + ": the decoder needs the encoder's outputs: encode the input first");
  const int64_t first = cache.reserve(positions, extras.block_positions, append_order());
  Step* s = nullptr;
  try {
    s = &step_for({StepPart{&cache, 0, n}}, n_outputs, extras.prefix, extras.probe != nullptr);
  } catch (...) {
    cache.truncate(first);
    throw;
  }
  device_.upload(s->tokens, tokens.data());
  if (s->output_rows.storage) device_.upload(s->output_rows, extras.outputs->data());
  device_.upload(s->positions.slice_rows(0, 1), positions.data());
  if (s->positions.rows > 1) device_.upload(s->positions.slice_rows(1, 1), extras.block_positions.data());
  s->graph->set_step(kSlotFirst, uint32_t(first));
  s->graph->set_step(kSlotNKv, uint32_t(cache.size()));
  s->graph->set_step(kSlotCrossNKv, cache.has_cross() ? uint32_t(cache.cross().size()) : 0u);
  try {
    s->graph->run();
  } catch (...) {
    cache.truncate(first);
    throw;
  }
  if (extras.probe) {
    AttentionProbe& p = *extras.probe;
    p.n_tokens = n;
    p.n_kv = cache.size();
    p.n_heads = s->probs.empty() ? 0 : int(s->probs.front().rows / n);
    p.n_cross = cache.has_cross() ? cache.cross().size() : 0;
    auto filled = [&](const std::vector<Tensor>& probs, int64_t n, std::vector<std::vector<float>>& out) {
      out.clear();
      for (const Tensor& t : probs) {
        const auto all = device_.download<float>(t);  // [rows, capacity]: keep the filled slots
        std::vector<float>& layer = out.emplace_back();
        for (int64_t r = 0; r < t.rows; ++r) layer.insert(layer.end(), all.begin() + r * t.cols, all.begin() + r * t.cols + n);
      }
    };
    filled(s->probs, p.n_kv, p.layers);
    filled(s->cross_probs, p.n_cross, p.cross_layers);
  }
  return s->n_outputs > 0 ? device_.download<float>(s->logits) : std::vector<float>();
}

std::vector<float> Model::forward_batch(std::span<const SequenceRows> sequences) {
  if (sequences.empty()) return {};
  if (sequences.size() == 1) {  // one sequence: forward()'s step
    const SequenceRows& q = sequences[0];
    const int32_t last = int32_t(q.tokens.size()) - 1;
    ForwardExtras extras;
    extras.outputs = std::span<const int32_t>(&last, q.tokens.empty() ? 0 : 1);
    return forward(*q.cache, q.tokens, q.positions, extras);
  }
  if (!batches_sequences()) throw Error(arch_ + ": decodes one sequence per pass");
  if (sequences.size() > kMaxBatchSequences)
    throw Error(arch_ + ": a batch of " + std::to_string(sequences.size()) + " sequences; at most " + std::to_string(kMaxBatchSequences));
  const KvCacheConfig& shape = sequences[0].cache->config();
  std::vector<StepPart> parts;
  std::vector<int32_t> tokens, positions, last_rows;
  for (size_t i = 0; i < sequences.size(); ++i) {
    const SequenceRows& q = sequences[i];
    const KvCacheConfig& c = q.cache->config();
    if (c.n_layers != shape.n_layers || c.n_kv_heads != shape.n_kv_heads || c.head_dim != shape.head_dim || c.types != shape.types ||
        c.sliding_window != shape.sliding_window)
      throw Error(arch_ + ": the sequences of a batch need caches of one shape");
    for (size_t j = 0; j < i; ++j)
      if (sequences[j].cache == q.cache) throw Error(arch_ + ": a batch holds each sequence once");
    if (q.tokens.empty() || q.tokens.size() != q.positions.size()) throw Error(arch_ + ": each sequence of a batch needs tokens, one position each");
    check_tokens(q.tokens);
    for (int32_t p : q.positions)
      if (p < 0 || p >= context_)
        throw Error("position " + std::to_string(p) + " is outside the model's context of " + std::to_string(context_));
    parts.push_back({q.cache, int64_t(tokens.size()), int64_t(q.tokens.size()), uint32_t(2 * i), uint32_t(2 * i + 1)});
    tokens.insert(tokens.end(), q.tokens.begin(), q.tokens.end());
    positions.insert(positions.end(), q.positions.begin(), q.positions.end());
    last_rows.push_back(int32_t(tokens.size()) - 1);
  }
  const int64_t n = int64_t(tokens.size());
  const bool every_row = n == int64_t(sequences.size());  // one token each: every row outputs, in order
  // Reserve in every cache; a failure takes back the reservations made.
  std::vector<int64_t> firsts;
  auto release = [&] {
    for (size_t i = 0; i < firsts.size(); ++i) sequences[i].cache->truncate(firsts[i]);
  };
  try {
    for (const SequenceRows& q : sequences) firsts.push_back(q.cache->reserve(q.positions, {}, append_order()));
    Step& s = step_for(parts, every_row ? -1 : int64_t(last_rows.size()), 0, false);
    device_.upload(s.tokens, tokens.data());
    device_.upload(s.positions, positions.data());
    if (s.output_rows.storage) device_.upload(s.output_rows, last_rows.data());
    for (size_t i = 0; i < sequences.size(); ++i) {
      s.graph->set_step(parts[i].slot_first, uint32_t(firsts[i]));
      s.graph->set_step(parts[i].slot_n_kv, uint32_t(sequences[i].cache->size()));
    }
    s.graph->run();
    return device_.download<float>(s.logits);
  } catch (...) {
    release();
    throw;
  }
}

}  // namespace vkllm
