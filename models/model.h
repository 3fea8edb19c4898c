#pragma once
// What every architecture shares: a forward pass that appends tokens at positions to a KV
// cache and returns their logits, recorded once per (cache, token count) as a graph and
// replayed with step values for the write slot and the key count. Architectures implement
// record() and cache_config().
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "runtime/graph.h"
#include "runtime/kv_cache.h"
#include "runtime/ops.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm {

class Device;

// The attention probabilities of appended tokens, for probes: per layer, row h * n_tokens + i
// (query head h, new token i), column the cache slot, over the slots [0, n_kv) after the append.
struct AttentionProbe {
  int n_heads = 0;
  int64_t n_tokens = 0, n_kv = 0;
  std::vector<std::vector<float>> layers;
  float at(int layer, int head, int64_t token, int64_t slot) const {
    return layers[size_t(layer)][size_t((head * n_tokens + token) * n_kv + slot)];
  }
  // Encoder-decoder models: the same for cross-attention, over the n_cross encoder slots.
  int64_t n_cross = 0;
  std::vector<std::vector<float>> cross_layers;
};

// What some architectures need besides positions.
struct ForwardExtras {
  std::span<const int32_t> block_positions;  // 2D RoPE (ChatGLM-6B): one per token
  int32_t prefix = 0;  // prefix-LM models: cache slots [0, prefix) are seen by every query
  AttentionProbe* probe = nullptr;  // when set, receives the attention probabilities
  // The rows of the batch whose logits are computed and returned, in this order; unset: every
  // row. Only these rows go through the final norm and the LM head (none: neither runs).
  std::optional<std::span<const int32_t>> outputs;
};

// Where appended tokens go: positions (and block positions, prefix) for a sequence.
struct PositionPlan {
  std::vector<int32_t> positions, block_positions;
  int32_t prefix = 0;
  ForwardExtras extras() const { return {block_positions, prefix}; }
};

// One sequence's rows of a batch over several sequences (Model::forward_batch).
struct SequenceRows {
  KvCache* cache = nullptr;
  std::span<const int32_t> tokens, positions;
};

class Model {
 public:
  Model(Device& device, std::string arch, int vocab, int context);
  virtual ~Model();
  Model(const Model&) = delete;
  Model& operator=(const Model&) = delete;

  Device& device() { return device_; }
  const std::string& arch() const { return arch_; }
  int vocab() const { return vocab_; }
  int context() const { return context_; }  // positions the model supports
  // Identifies the weights the model was loaded from (build_model): cache files computed by
  // one model are refused by another. 0 for a model no loader built.
  uint64_t fingerprint() const { return fingerprint_; }
  void set_fingerprint(uint64_t f) { fingerprint_ = f; }
  // Error naming the first id outside the vocabulary.
  void check_tokens(std::span<const int32_t> tokens) const;

  // Positions for `added` tokens following the `held` ones of a sequence: by default the next
  // indices, plus `offset` where the held entries sit past a gap (cache surgery removed some).
  // Prefix-LM models place their prompt and generated tokens their own way.
  virtual PositionPlan plan_positions(std::span<const int32_t> held, std::span<const int32_t> added, int32_t offset = 0) const;

  // Whether the prompt attends both ways (ChatGLM-6B) rather than causally.
  virtual bool prefix_lm() const { return false; }

  // Tokens every prompt must end with (ChatGLM-6B: [gMASK] then BOS); empty for most models.
  virtual std::vector<int32_t> prompt_suffix() const { return {}; }

  // Encoder-decoder models (T5): encode() runs the encoder over `tokens` and fills the cache's
  // cross-attention part (KvCache::cross) with every decoder layer's K/V of its outputs,
  // replacing what it held; forward() then decodes against it, starting from
  // decoder_start_token(). Decoder-only models refuse encode().
  virtual bool encoder_decoder() const { return false; }
  virtual int32_t decoder_start_token() const { return -1; }
  // What generation from scratch feeds the decoder: the start token, then a token the model's
  // generation config forces first (BART's forced_bos_token_id), if any.
  virtual std::vector<int32_t> decoder_prompt() const { return {}; }
  virtual void encode(KvCache& cache, std::span<const int32_t> tokens);

  // A cache shaped for this model (its RoPE, if any, is what reposition re-applies); an
  // encoder-decoder model's has room for its longest encoder input.
  virtual KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const = 0;
  // The same with room for encoder inputs of up to encoder_capacity tokens (0: the longest):
  // models that read 128k-token inputs need not hold that much cross-attention K/V for a short one.
  KvCacheConfig cache_config(int64_t capacity, int64_t encoder_capacity, KvTypes types) const;
  int64_t encoder_context() const { return cache_config(1).cross_capacity; }  // 0: decoder-only

  // Appends the tokens at `positions` to the cache and returns the logits of the output rows
  // (extras.outputs; every row by default), [rows][vocab] row-major: bit for bit what the same
  // rows give among all rows. Token ids must be < vocab, positions < context and output rows
  // < the token count; the cache enforces its own invariants. On error the cache is left as
  // it was.
  std::vector<float> forward(KvCache& cache, std::span<const int32_t> tokens, std::span<const int32_t> positions,
                             const ForwardExtras& extras = {});

  // Whether forward_batch takes several sequences at once (decoder-only models whose
  // attention needs nothing per sequence but its cache and positions).
  virtual bool batches_sequences() const { return false; }
  // Appends each sequence's tokens to its own cache in one pass over the weights (one graph,
  // one submission) and returns the logits of each sequence's last row, [sequences][vocab].
  // Each sequence's rows attend to its cache alone. At most kMaxBatchSequences distinct caches
  // of one shape; on error no cache changes.
  static constexpr size_t kMaxBatchSequences = 32;
  std::vector<float> forward_batch(std::span<const SequenceRows> sequences);

  static KvCacheConfig cache_shape(int n_layers, int64_t capacity, int n_kv_heads, int head_dim, KvTypes types,
                                   std::optional<RopeConfig> rope);

 protected:
  // check_tokens refuses this token, saying why (a token whose meaning the model cannot run).
  void refuse_token(int32_t id, std::string why) { refused_ = {id, std::move(why)}; }

  static constexpr uint32_t kSlotFirst = 0;  // step value: the cache slot of the first new token
  static constexpr uint32_t kSlotNKv = 1;    // step value: keys in the cache after the append
  static constexpr uint32_t kSlotCrossNKv = 2;  // step value: entries in the cross-attention cache

  // A sequence's rows within a step, and the step values that place them in its cache.
  struct StepPart {
    KvCache* cache = nullptr;
    int64_t first_row = 0, rows = 0;
    uint32_t slot_first = kSlotFirst, slot_n_kv = kSlotNKv;
  };
  struct Step {
    std::vector<std::weak_ptr<const void>> caches_alive;
    std::vector<StepPart> parts;  // one per sequence: one for forward(), several for forward_batch()
    std::unique_ptr<Graph> graph;
    int64_t n = 0, n_outputs = 0;      // batch rows, and the rows that output logits
    Tensor tokens, positions, logits;  // inputs I32 [1, n] and [streams, n]; the output [n_outputs, vocab]
    Tensor output_rows;                 // I32 [1, n_outputs]: which rows, where not every row in order
    int32_t prefix = 0;                 // ForwardExtras::prefix the graph was recorded for
    bool probe = false;                 // records each layer's attention probabilities into probs
    std::vector<Tensor> probs;          // per layer: F32 [n_heads * n, cache capacity]
    std::vector<Tensor> cross_probs;    // per layer, of cross-attention: [n_heads * n, cross capacity]
    uint64_t arena_generation = 0;      // the arena buffers it was recorded against
    uint64_t last_used = 0;
    std::map<std::pair<std::string, int64_t>, int> scratch_taken;  // per (name, width): how many so far
  };
  // F32 [rows, cols] working memory for a step being recorded, from the model's arena: steps
  // run one at a time, so all of them share one buffer per (name, width, n-th of those in the
  // step), sized for the largest batch yet. Views stay valid until the arena grows. Host: in
  // mapped memory (Device::io_tensor), for outputs read back after every run.
  Tensor scratch(Step& s, int64_t rows, int64_t cols, const char* name, MemoryKind kind = MemoryKind::Device);
  // Where s.probe asks for it, records layer's attention probabilities (after its attention,
  // with the same q, keys and parameters) into s.probs, or of its cross-attention over `cache`
  // (a cross part) into s.cross_probs.
  void probe_attention(Step& s, int layer, const Tensor& q, const KvCache& cache, const Tensor& query_positions,
                       const ops::AttentionParams& a, bool cross = false);
  // The same for one attention over the cache and its cross part at once (T5Gemma 2): one
  // softmax over both, split into s.probs and s.cross_probs.
  void probe_merged_attention(Step& s, int layer, const Tensor& q, const KvCache& cache, const Tensor& query_positions,
                              const ops::AttentionParams& self, const ops::AttentionParams& cross);
  // Records layer's K/V rows into each sequence's cache and its queries' attention over that
  // cache (n_kv from each part's step value; the mask, window and scales from `a`), and the
  // probe where asked: the self-attention of a decoder layer, for one sequence or several.
  void cache_attention(Step& s, int layer, const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& query_positions,
                       const Tensor& out, ops::AttentionParams a);
  // The final norm and the LM head for the rows the step outputs, from the last hidden state x
  // [n, dim]; nothing when no row outputs. norm(in, out) is the architecture's final norm
  // (empty: none, BART); `spare` is a scratch of x's shape the builder no longer needs. `bias`
  // (no storage: none) is added to every row of logits.
  void output_head(Step& s, const Tensor& x, const Tensor& spare, const Weight& output,
                   const std::function<void(const Tensor& in, const Tensor& out)>& norm, const Tensor& bias = {});
  // Records the pass for s.n tokens into s.graph: reads s.tokens and s.positions, writes
  // s.logits (through output_head); kSlotFirst and kSlotNKv are the cache's step values.
  virtual void record(Step& s, KvCache& cache, int64_t n) = 0;
  // How new positions must relate to cached ones (ChatGLM-6B repeats positions by design).
  virtual AppendOrder append_order() const { return AppendOrder::Increasing; }

 private:
  // n_outputs < 0: every row outputs, in order.
  Step& step_for(std::vector<StepPart> parts, int64_t n_outputs, int32_t prefix, bool probe);

  Device& device_;
  std::string arch_;
  int vocab_, context_;
  uint64_t fingerprint_ = 0;
  std::pair<int32_t, std::string> refused_{-1, {}};
  // Recorded steps by ((cache id, rows) per sequence, output rows or -1 for all, prefix,
  // probe): at most kMaxSteps, the least recently used dropped first. Their memory is the
  // arena's, so it stays bounded however many distinct token counts arrive.
  static constexpr size_t kMaxSteps = 32;
  std::map<std::tuple<std::vector<std::pair<uint64_t, int64_t>>, int64_t, int32_t, bool>, Step> steps_;
  std::map<std::tuple<std::string, int64_t, int>, Tensor> arena_;  // by (name, width, n-th in a step)
  uint64_t arena_generation_ = 0, uses_ = 0;
};

}  // namespace vkllm
