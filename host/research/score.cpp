#include "host/research/score.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "host/tokenizer.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

std::vector<int32_t> iota(int32_t first, size_t n) {
  std::vector<int32_t> v(n);
  std::iota(v.begin(), v.end(), first);
  return v;
}

std::vector<int32_t> concat(std::initializer_list<std::span<const int32_t>> parts) {
  std::vector<int32_t> out;
  for (auto p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Each answer token's NLL from its row of logits ([answer.size()][vocab]).
std::vector<double> answer_nll(const std::vector<float>& logits, size_t vocab, std::span<const int32_t> answer) {
  std::vector<double> out;
  for (size_t j = 0; j < answer.size(); ++j) {
    const float* row = logits.data() + j * vocab;
    double max = row[0];
    for (size_t v = 1; v < vocab; ++v) max = std::max(max, double(row[v]));
    double sum = 0;
    for (size_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - max);
    out.push_back(max + std::log(sum) - double(row[size_t(answer[j])]));
  }
  return out;
}

// Whether any of `wanted` is among `conditions`.
bool any_of(std::span<const Condition> conditions, std::initializer_list<Condition> wanted) {
  return std::any_of(conditions.begin(), conditions.end(), [&](Condition c) { return std::find(wanted.begin(), wanted.end(), c) != wanted.end(); });
}

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }

// Per layer of `layers` (a probe's self- or cross-attention, over n_slots slots labelled by
// `segments`): the share of attention the answer tokens (n_answer batch rows from
// first_answer) give each segment, averaged over heads and answer tokens.
std::vector<std::array<double, kSegments>> shares(const AttentionProbe& probe, const std::vector<std::vector<float>>& layers,
                                                  int64_t n_slots, const std::vector<Segment>& segments, int64_t first_answer,
                                                  size_t n_answer) {
  std::vector<std::array<double, kSegments>> out;
  for (const std::vector<float>& layer : layers) {
    std::array<double, kSegments> share{};
    for (int h = 0; h < probe.n_heads; ++h)
      for (size_t j = 0; j < n_answer; ++j)
        for (int64_t slot = 0; slot < n_slots; ++slot)
          share[size_t(segments[size_t(slot)])] += layer[size_t((h * probe.n_tokens + first_answer + int64_t(j)) * n_slots + slot)];
    for (double& v : share) v /= double(probe.n_heads) * double(n_answer);
    out.push_back(share);
  }
  return out;
}

}  // namespace

const char* condition_name(Condition c) {
  switch (c) {
    case Condition::Bare: return "bare";
    case Condition::Full: return "full";
    case Condition::Truncated: return "truncated";
    case Condition::TruncatedGap: return "truncated_gap";
    case Condition::Suffix: return "suffix";
  }
  return "?";
}

const char* segment_name(Segment s) {
  switch (s) {
    case Segment::Bos: return "bos";
    case Segment::Prefix: return "prefix";
    case Segment::Document: return "document";
    case Segment::Query: return "query";
    case Segment::Answer: return "answer";
  }
  return "?";
}

Scorer::Layout& Scorer::Layout::add(std::span<const int32_t> part, Segment s) {
  tokens.insert(tokens.end(), part.begin(), part.end());
  segments.insert(segments.end(), part.size(), s);
  return *this;
}

Condition condition_from_name(const std::string& name) {
  for (Condition c : {Condition::Bare, Condition::Full, Condition::Truncated, Condition::TruncatedGap, Condition::Suffix})
    if (name == condition_name(c)) return c;
  throw Error("unknown condition '" + name + "' (bare, full, truncated, truncated_gap, suffix)");
}

Scorer::Scorer(Model& model, ScorerOptions options) : model_(model), options_(options), suffix_tokens_(model.prompt_suffix()) {
  // Only where every layer slides: with global layers among them (Gemma) the answer sees the
  // whole document there, and the sliding layers see their window as the model defines them.
  const std::vector<int> windows = model.cache_config(1).sliding_window;
  if (!windows.empty() && std::all_of(windows.begin(), windows.end(), [](int w) { return w > 0; }))
    window_ = *std::min_element(windows.begin(), windows.end());
}

void Scorer::ensure_capacity(int64_t n, int64_t n_encoder) {
  if (n <= capacity_ && n_encoder <= encoder_capacity_) return;
  if (n > capacity_) capacity_ = std::max<int64_t>(n, capacity_ * 2);
  if (n_encoder > encoder_capacity_) encoder_capacity_ = std::min(std::max(n_encoder, encoder_capacity_ * 2), model_.encoder_context());
  for (auto* c : {&bare_, &full_, &suffix_, &work_})
    *c = std::make_unique<KvCache>(model_.device(), model_.cache_config(capacity_, encoder_capacity_, options_.kv_types));
}

void Scorer::phase_a(KvCache& cache, std::span<const int32_t> tokens) {
  cache.clear();
  ForwardExtras extras;
  const std::vector<int32_t> blocks(cache.two_d() ? tokens.size() : 0, 0);
  extras.block_positions = blocks;
  if (model_.prefix_lm()) extras.prefix = int32_t(tokens.size());  // the prompt region, both ways
  extras.outputs = std::span<const int32_t>();  // the cache is the result: no logits
  model_.forward(cache, tokens, iota(0, tokens.size()), extras);
}

ConditionScore Scorer::phase_b(Condition condition, const ScoreCase& c, const Layout& held, int32_t start) {
  Layout all = held;
  all.add(c.query, Segment::Query).add(suffix_tokens_, Segment::Query).add(c.answer, Segment::Answer);
  const std::span<const int32_t> tokens = std::span(all.tokens).subspan(held.tokens.size());
  const PositionPlan plan = model_.plan_positions(held.tokens, tokens, start - int32_t(held.tokens.size()));
  AttentionProbe probe;
  ForwardExtras extras = plan.extras();
  if (options_.probe) extras.probe = &probe;
  const size_t vocab = size_t(model_.vocab()), before = c.query.size() + suffix_tokens_.size();
  std::vector<int32_t> rows;  // each answer token is scored by the logits of the row before it
  for (size_t j = 0; j < c.answer.size(); ++j) rows.push_back(int32_t(before - 1 + j));
  extras.outputs = rows;
  const auto logits = model_.forward(*work_, tokens, plan.positions, extras);
  ConditionScore s{condition, answer_nll(logits, vocab, c.answer), 0.0, {}};
  s.nll_mean = mean(s.token_nll);
  // The answer tokens' own rows.
  if (options_.probe) s.attention_share = shares(probe, probe.layers, probe.n_kv, all.segments, int64_t(before), c.answer.size());
  return s;
}

CaseScore Scorer::score_encoder_decoder(const ScoreCase& c, std::span<const Condition> conditions) {
  auto fail = [&](const std::string& what) { throw Error("case '" + c.id + "': " + what); };
  if (c.bos >= 0) fail(model_.arch() + " is an encoder-decoder model: its decoder starts with its own token; give \"bos\": null");
  const int64_t encoder_room = model_.encoder_context(), P = int64_t(c.prefix.size()), D = int64_t(c.document.size());
  if (P + D > encoder_room)
    fail("prefix and document (" + std::to_string(P + D) + " tokens) exceed the encoder's " + std::to_string(encoder_room));
  // The decoder reads [start] + query + answer at 0, 1, ...; answer token j is scored by the
  // logits of the row before it.
  const std::span<const int32_t> query = options_.decoder_query ? std::span<const int32_t>(c.query) : std::span<const int32_t>();
  std::vector<int32_t> decoder{model_.decoder_start_token()};
  decoder.insert(decoder.end(), query.begin(), query.end());
  decoder.insert(decoder.end(), c.answer.begin(), c.answer.end());
  if (int64_t(decoder.size()) > model_.context())
    fail(std::to_string(decoder.size()) + " decoder tokens exceed the model's context of " + std::to_string(model_.context()));
  ensure_capacity(int64_t(decoder.size()), P + D);
  std::vector<int32_t> rows;
  for (size_t j = 0; j < c.answer.size(); ++j) rows.push_back(int32_t(query.size() + j));

  auto needs = [&](std::initializer_list<Condition> any) { return any_of(conditions, any); };
  if (needs({Condition::Bare})) model_.encode(*bare_, c.document);
  if (needs({Condition::Full, Condition::Truncated, Condition::TruncatedGap})) model_.encode(*full_, concat({c.prefix, c.document}));
  if (needs({Condition::Suffix})) model_.encode(*suffix_, concat({c.document, c.prefix}));
  std::vector<int64_t> document;  // the document's encoder outputs within prefix + document
  for (int64_t i = 0; i < D; ++i) document.push_back(P + i);
  CaseScore result;
  result.document_tokens = size_t(D);
  for (Condition cond : conditions) {
    const KvCache& source = cond == Condition::Bare ? *bare_ : cond == Condition::Suffix ? *suffix_ : *full_;
    source.copy_to(*work_);  // an empty decoder cache and the encoder's outputs
    // Cross-attention has no positions: truncated and truncated_gap both just drop the prefix.
    if (cond == Condition::Truncated || cond == Condition::TruncatedGap) work_->cross().select(document);
    ForwardExtras extras;
    extras.outputs = rows;
    AttentionProbe probe;
    if (options_.probe) extras.probe = &probe;
    const auto logits = model_.forward(*work_, decoder, iota(0, decoder.size()), extras);
    ConditionScore s{cond, answer_nll(logits, size_t(model_.vocab()), c.answer), 0.0, {}, {}};
    s.nll_mean = mean(s.token_nll);
    if (options_.probe) {
      Layout self, encoded;
      self.add(decoder, Segment::Answer);
      std::fill(self.segments.begin(), self.segments.begin() + 1 + std::ptrdiff_t(query.size()), Segment::Query);
      self.segments[0] = Segment::Bos;
      if (cond == Condition::Full) encoded.add(c.prefix, Segment::Prefix);
      encoded.add(c.document, Segment::Document);
      if (cond == Condition::Suffix) encoded.add(c.prefix, Segment::Prefix);
      const int64_t first_answer = 1 + int64_t(query.size());
      s.attention_share = shares(probe, probe.layers, probe.n_kv, self.segments, first_answer, c.answer.size());
      s.cross_attention_share = shares(probe, probe.cross_layers, probe.n_cross, encoded.segments, first_answer, c.answer.size());
    }
    result.conditions.push_back(std::move(s));
  }
  return result;
}

CaseScore Scorer::score(const ScoreCase& original, std::span<const Condition> conditions) {
  ScoreCase c = original;
  auto fail = [&](const std::string& what) { throw Error("case '" + c.id + "': " + what); };
  if (c.answer.empty()) fail("the answer must not be empty");
  if (c.document.empty()) fail("the document is empty");
  try {
    model_.check_tokens(concat({c.bos >= 0 ? std::span<const int32_t>(&c.bos, 1) : std::span<const int32_t>(), c.prefix, c.document,
                                c.query, c.answer}));
  } catch (const Error& e) {
    fail(e.what());
  }
  if (model_.encoder_decoder()) return score_encoder_decoder(c, conditions);
  if (!options_.decoder_query) fail("leaving out the query is for encoder-decoder models (" + model_.arch() + " is decoder-only)");
  if (c.query.empty()) fail("the query must not be empty");
  const std::vector<int32_t> bos = c.bos >= 0 ? std::vector<int32_t>{c.bos} : std::vector<int32_t>{};
  if (!bos.empty() && std::find(suffix_tokens_.begin(), suffix_tokens_.end(), c.bos) != suffix_tokens_.end())
    fail(model_.arch() + " places BOS after [gMASK] before the answer, not at the start: give \"bos\": null");
  for (int32_t t : concat({c.prefix, c.document, c.query}))
    if (std::find(suffix_tokens_.begin(), suffix_tokens_.end(), t) != suffix_tokens_.end())
      fail("token " + std::to_string(t) + " ends " + model_.arch() + "'s prompts ([gMASK], BOS) and may not appear before the answer");
  auto needs = [&](std::initializer_list<Condition> any) { return any_of(conditions, any); };
  const bool with_prefix = needs({Condition::Full, Condition::Truncated, Condition::TruncatedGap, Condition::Suffix});
  const int32_t b = int32_t(bos.size()), P = int32_t(c.prefix.size());
  // Positions from BOS to the last answer token in the longest layout asked for.
  const int64_t around_document = int64_t(b) + (with_prefix ? P : 0) + int64_t(c.query.size() + suffix_tokens_.size() + c.answer.size());
  const int64_t span = around_document + int64_t(c.document.size());
  if (span > model_.context())
    fail(std::to_string(span) + " tokens (BOS, prefix, document, query, answer) exceed the model's context of " +
         std::to_string(model_.context()));
  CaseScore result;
  if (window_ > 0 && span > window_) {
    const int64_t over = span - window_;
    if (options_.window == WindowPolicy::Refuse || over >= int64_t(c.document.size()))
      fail("the case spans " + std::to_string(span) + " positions but the model's sliding-window layers attend within " +
           std::to_string(window_) + ": the answer would not see the whole document" +
           (options_.window == WindowPolicy::Refuse ? " (cutting the document to fit is an option)" : ", even with the document cut"));
    c.document.resize(c.document.size() - size_t(over));
    result.document_tokens_dropped = size_t(over);
  }
  const int32_t D = int32_t(c.document.size());
  result.document_tokens = size_t(D);
  ensure_capacity(around_document + D);

  // Phase A, once per layout.
  Layout bare, full, suffix;
  bare.add(bos, Segment::Bos).add(c.document, Segment::Document);
  full.add(bos, Segment::Bos).add(c.prefix, Segment::Prefix).add(c.document, Segment::Document);
  suffix.add(bos, Segment::Bos).add(c.document, Segment::Document).add(c.prefix, Segment::Prefix);
  if (needs({Condition::Bare}) || (needs({Condition::Suffix}) && !model_.prefix_lm())) phase_a(*bare_, bare.tokens);
  if (needs({Condition::Full, Condition::Truncated, Condition::TruncatedGap})) phase_a(*full_, full.tokens);
  if (needs({Condition::Suffix})) {
    phase_a(*suffix_, suffix.tokens);
    // Causal attention: what follows the document cannot change its entries.
    if (!model_.prefix_lm())
      for (int l = 0; l < model_.cache_config(1).n_layers; ++l)
        if (suffix_->read_k(l, 0, b + D) != bare_->read_k(l, 0, b + D) || suffix_->read_v(l, 0, b + D) != bare_->read_v(l, 0, b + D))
          fail("suffix: the document's cache entries differ from bare's in layer " + std::to_string(l) +
               " (attention is not causal?)");
  }

  std::vector<int64_t> keep;  // BOS and the document, without the prefix
  if (b) keep.push_back(0);
  for (int32_t i = 0; i < D; ++i) keep.push_back(b + P + i);
  for (Condition cond : conditions) {
    switch (cond) {
      case Condition::Bare:
        bare_->copy_to(*work_);
        result.conditions.push_back(phase_b(cond, c, bare, b + D));
        break;
      case Condition::Full:
        full_->copy_to(*work_);
        result.conditions.push_back(phase_b(cond, c, full, b + P + D));
        break;
      case Condition::Truncated:
        full_->copy_to(*work_);
        work_->select(keep);
        if (P > 0) work_->reposition(b, D, -P);
        result.conditions.push_back(phase_b(cond, c, bare, b + D));
        break;
      case Condition::TruncatedGap:
        full_->copy_to(*work_);
        work_->select(keep);
        result.conditions.push_back(phase_b(cond, c, bare, b + P + D));
        break;
      case Condition::Suffix:
        suffix_->copy_to(*work_);
        result.conditions.push_back(phase_b(cond, c, suffix, b + D + P));
        break;
    }
  }
  return result;
}

namespace {
// Tokens of `second` as they come after `first`: tokens(first + second) minus tokens(first).
std::vector<int32_t> continuation(const Tokenizer& tok, const std::string& first, const std::string& second, const char* what) {
  const auto head = tok.encode(first, false, false), whole = tok.encode(first + second, false, false);
  if (whole.size() < head.size() || !std::equal(head.begin(), head.end(), whole.begin()))
    throw Error(std::string("the tokens of the ") + what + " merge with what precedes it (tokens(a + b) does not start with tokens(a))");
  return std::vector<int32_t>(whole.begin() + std::ptrdiff_t(head.size()), whole.end());
}
}  // namespace

ScoreCase tokenize_case(const Tokenizer& tok, const TextCase& t) {
  ScoreCase c;
  c.id = t.id;
  c.bos = tok.vocab().add_bos ? tok.vocab().bos : -1;  // as the model's prompts begin
  c.prefix = tok.encode(t.prefix, false, false);
  c.document = continuation(tok, t.prefix, t.document, "document");
  c.query = tok.encode(t.query, false, false);
  c.answer = continuation(tok, t.query, t.answer, "answer");
  return c;
}

}  // namespace vkllm
