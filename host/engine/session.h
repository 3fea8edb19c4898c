#pragma once
// A session owns a model's KV cache and the tokens in it: decode() appends tokens and returns
// their logits. Without the cache, every decode recomputes the whole sequence from scratch,
// which is slow but independent of every cache path (for equivalence checks). Encoder-decoder
// models take their input through encode() first; their decoder then starts from the model's
// decoder start token (without the cache the encoder is rerun on every decode too).
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "host/engine/context_shift.h"
#include "models/model.h"
#include "runtime/kv_cache.h"

namespace vkllm {

struct SessionOptions {
  int64_t context = 0;        // tokens the session may hold; 0: the model's context
  int64_t encoder_context = 0;  // encoder-decoder models: the longest encoder input; 0: the model's
  KvTypes kv_types;  // the K and V rows' storage types
  bool use_cache = true;
  // Bytes the cache may take (the keys' anchors included where a context shift needs them);
  // 0: no limit. It lowers the context to the entries that fit.
  uint64_t kv_budget = 0;
  // What happens when an append would pass the context: without a policy it is an error; with
  // one, the session drops entries as it says first (models with rotary embeddings whose
  // attention is causal).
  std::optional<ContextShift> context_shift;
};

class Session {
 public:
  explicit Session(Model& model, SessionOptions options = {});

  // Appends tokens at the next positions; returns their logits, [n][vocab] row-major. A token
  // id outside the vocabulary or a sequence past the context is an Error, and leaves the
  // session as it was (past the context with a context shift, entries are dropped first).
  std::vector<float> decode(std::span<const int32_t> tokens);
  // The last row of decode()'s result: what a sampler needs.
  std::vector<float> decode_last(std::span<const int32_t> tokens);
  // The general form: appends tokens at `plan`'s positions (null: where decode() puts them)
  // and returns the logits of the batch rows `outputs`, in that order, [outputs][vocab]; no
  // row: no LM head at all. Explicit positions need the cache (they are the caller's after
  // cache surgery, where the next index is not the next position).
  std::vector<float> decode_rows(std::span<const int32_t> tokens, std::span<const int32_t> outputs, const PositionPlan* plan = nullptr);
  // Appends tokens[i] to sessions[i] (sessions of one model, with the cache) in one pass over
  // the weights where the model batches sequences (Model::forward_batch), else one pass each;
  // returns each session's last-row logits. On error no session changes.
  static std::vector<std::vector<float>> decode_batch(std::span<Session* const> sessions, std::span<const std::vector<int32_t>> tokens);
  // Encoder-decoder models: runs the encoder over `tokens` and empties the decoder. Error for
  // decoder-only models and inputs past the encoder's length.
  void encode(std::span<const int32_t> tokens);

  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::optional<ContextShift>& context_shift() const { return options_.context_shift; }
  int64_t shifted_tokens() const { return shifted_; }  // entries context shifts have dropped
  const std::vector<int32_t>& encoder_tokens() const { return encoder_tokens_; }
  int64_t context() const { return context_; }
  int vocab() const { return model_.vocab(); }
  Model& model() { return model_; }
  KvCache& cache() { return *cache_; }
  void clear();
  // Keeps the first n tokens and their cache entries (Error where cache surgery has made the
  // entries other than one per token).
  void truncate(int64_t n);
  // Keeps the listed cache slots in that order (KvCache::select) and their tokens with them.
  void select(std::span<const int64_t> slots);
  // Drops the listed cache slots and their tokens (KvCache::drop).
  void drop(std::span<const int64_t> slots) { select(cache_->kept_after_dropping(slots)); }
  // A new session of the same model and options holding a copy of this one's state.
  std::unique_ptr<Session> fork() const;
  // Replaces dst's state with a copy of this one's (dst: the same model, room enough).
  void copy_to(Session& dst) const;

  // The whole state (cache with its cross-attention part, tokens, encoder input) as a cache
  // file (runtime/kv_cache_file.h), and back: load refuses another model's file, a corrupt one
  // and one past this session's context, changing nothing.
  void save(const std::string& path) const;
  void load(const std::string& path);

 private:
  void require_tokens_in_step(const char* what) const;
  // Makes room for n more tokens: a context shift where the options ask for one and may_shift,
  // else Error. apply false: only the checks.
  void make_room(int64_t n, bool may_shift, bool apply);

  Model& model_;
  SessionOptions options_;
  int64_t context_;
  std::unique_ptr<KvCache> cache_;
  std::vector<int32_t> tokens_;
  std::vector<int32_t> encoder_tokens_;
  int64_t shifted_ = 0;
};

}  // namespace vkllm
