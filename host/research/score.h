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
// A case without BOS (bos < 0) shifts everything down by one.
//
// Prefix-LM models (ChatGLM-6B): Phase A is the bidirectional prompt region, every entry
// seeing every other; Phase B is query + the model's prompt suffix ([gMASK], BOS) + answer,
// placed by the model's own position plan, so the query and [gMASK] also join the
// bidirectional region and the answer follows causally. The document's entries under suffix
// then do see the prefix, and no identity is checked.
//
// Encoder-decoder models (T5): Phase A is the encoder, Phase B the decoder reading
// [decoder start] + query + answer at positions 0.. (no BOS: give "bos": null; the query may
// be empty). bare encodes the document, full prefix + document, truncated (and truncated_gap,
// the same: cross-attention has no positions) encodes prefix + document and removes the
// prefix's entries from the cross-attention cache, suffix encodes document + prefix.
//
// One Phase A pass per (case, layout); conditions that share it copy its cache and apply cache
// operations instead of recomputing.
//
// Sliding-window models whose every layer slides (Mistral): a case must fit the smallest
// window (BOS to the last answer token), or answer tokens would not see the whole document
// and the conditions would differ in what is visible. The scorer refuses such a case or cuts
// the document's tail to fit. Where some layers are global (Gemma), the answer sees the whole
// document through them and cases of any length score.
#include <array>
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
  int32_t bos = -1;  // < 0: none
  std::vector<int32_t> prefix, document, query, answer;
};

class Tokenizer;

// A case given as text, tokenized as the model's prompts are: BOS where the tokenizer adds
// one, tokens(prefix), and the document as it continues the prefix (tokens(prefix + document)
// minus tokens(prefix)); the query by itself and the answer as it continues the query. A merge
// across either boundary is an Error, never a silent shift. Separators are part of the text:
// the seeds' layout ([BOS] prefix \n document, then \n query \n answer) puts the first \n at
// the end of the prefix, so truncated drops it with the prefix, and the others around the query.
struct TextCase {
  std::string id, prefix, document, query, answer;
};
ScoreCase tokenize_case(const Tokenizer& tokenizer, const TextCase& text);

enum class Condition { Bare, Full, Truncated, TruncatedGap, Suffix };
const char* condition_name(Condition c);
Condition condition_from_name(const std::string& name);  // Error for an unknown name

enum class WindowPolicy { Refuse, TruncateDocument };

// The parts of a scored sequence, for attention probes. The model's prompt suffix ([gMASK],
// BOS of prefix-LM models) counts as query.
enum class Segment { Bos, Prefix, Document, Query, Answer };
constexpr size_t kSegments = 5;
const char* segment_name(Segment s);

struct ConditionScore {
  Condition condition;
  std::vector<double> token_nll;
  double nll_mean = 0;
  // With ScorerOptions::probe, per layer: the share of attention mass the answer tokens give
  // each segment, averaged over query heads and answer tokens (sums to 1).
  std::vector<std::array<double, kSegments>> attention_share;
  // Encoder-decoder models: the same for cross-attention (over the encoder's prefix and
  // document); attention_share is then the decoder's self-attention (BOS: its start token).
  std::vector<std::array<double, kSegments>> cross_attention_share;
};

struct CaseScore {
  std::vector<ConditionScore> conditions;  // in the order asked for
  size_t document_tokens = 0;              // as scored
  size_t document_tokens_dropped = 0;      // cut from the document's end to fit a window
};

struct ScorerOptions {
  KvTypes kv_types;  // the K and V rows' storage types
  WindowPolicy window = WindowPolicy::Refuse;
  bool probe = false;  // fill ConditionScore::attention_share
  // Encoder-decoder models: the decoder reads [start] + query + answer; false: [start] +
  // answer (the seeds' query-in-decoder variants). Decoder-only models always read the query.
  bool decoder_query = true;
};

class Scorer {
 public:
  explicit Scorer(Model& model, ScorerOptions options = {});
  // Error naming the case for bad input (empty answer, token ids, length past the context or
  // a window under WindowPolicy::Refuse).
  CaseScore score(const ScoreCase& c, std::span<const Condition> conditions);

 private:
  // Caches for n tokens (and encoder inputs of n_encoder), grown as cases need.
  void ensure_capacity(int64_t n, int64_t n_encoder = 0);
  // Tokens in cache order with the segment each belongs to.
  struct Layout {
    std::vector<int32_t> tokens;
    std::vector<Segment> segments;
    Layout& add(std::span<const int32_t> part, Segment s);
  };
  // Encoder-decoder models: Phase A is the encoder (bare: the document; full, truncated:
  // prefix + document, truncated dropping the prefix's cross-attention entries; suffix:
  // document + prefix), Phase B the decoder over [start] + query + answer.
  CaseScore score_encoder_decoder(const ScoreCase& c, std::span<const Condition> conditions);
  // Clears `cache` and appends Phase A's tokens at positions 0, 1, ...
  void phase_a(KvCache& cache, std::span<const int32_t> tokens);
  // Feeds query, prompt suffix and answer on work_ (already holding the condition's Phase A
  // cache, laid out as `held`) with the query starting at position `start`.
  ConditionScore phase_b(Condition condition, const ScoreCase& c, const Layout& held, int32_t start);

  Model& model_;
  ScorerOptions options_;
  std::vector<int32_t> suffix_tokens_;  // the model's prompt suffix
  int window_ = 0;                      // the smallest window where every layer slides (0: none)
  int64_t capacity_ = 0, encoder_capacity_ = 0;
  // Persistent caches: graphs recorded against them are reused from case to case.
  std::unique_ptr<KvCache> bare_, full_, suffix_, work_;
};

}  // namespace vkllm
