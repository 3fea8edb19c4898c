#pragma once
// Two-phase scoring of directed KV-cache experiments. Phase A builds a document's cache under
// a condition; Phase B feeds query then answer and scores only the answer tokens (the NLL of
// each answer token from the logits at the position before it). The conditions (as in
// ../shared/data/README.md), with P and D the prefix and document lengths:
//   bare           [BOS] + document at 0..D; Phase B starts at 1 + D
//   full           [BOS] + prefix + document at 0..P+D; Phase B at 1 + P + D
//   truncated      full, then the prefix entries removed and the document keys re-rotated by -P
//                  (the model's own RoPE pairing): BOS at 0, document at 1..D; Phase B at 1 + D
//   truncated_gap  as truncated without re-rotation; Phase B at 1 + P + D
//   suffix         [BOS] + document + prefix; under causal attention the document's entries
//                  must be bit-identical to bare's (checked); Phase B at 1 + D + P
// One Phase A pass per (case, layout); conditions that share it copy its cache and apply cache
// operations instead of recomputing.
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "models/model.h"
#include "runtime/kv_cache.h"

namespace vkllm {

struct ScoreCase {
  std::string id;
  int32_t bos = -1;
  std::vector<int32_t> prefix, document, query, answer;
};

enum class Condition { Bare, Full, Truncated, TruncatedGap, Suffix };
const char* condition_name(Condition c);
Condition condition_from_name(const std::string& name);  // Error for an unknown name

struct ConditionScore {
  Condition condition;
  std::vector<double> token_nll;
  double nll_mean = 0;
};

class Scorer {
 public:
  explicit Scorer(Model& model, DType kv_type = DType::F32);
  // Error naming the case for bad input (empty answer, token ids, length past the context).
  std::vector<ConditionScore> score(const ScoreCase& c, std::span<const Condition> conditions);

 private:
  void ensure_capacity(int64_t n);
  // Feeds query + answer at `start` on work_ (already holding the condition's Phase A cache).
  ConditionScore phase_b(Condition condition, const ScoreCase& c, int32_t start);

  Model& model_;
  DType kv_type_;
  int64_t capacity_ = 0;
  // Persistent caches: graphs recorded against them are reused from case to case.
  std::unique_ptr<KvCache> bare_, full_, suffix_, work_;
};

}  // namespace vkllm
