#include "host/score.h"

#include <cmath>
#include <numeric>

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

Condition condition_from_name(const std::string& name) {
  for (Condition c : {Condition::Bare, Condition::Full, Condition::Truncated, Condition::TruncatedGap, Condition::Suffix})
    if (name == condition_name(c)) return c;
  throw Error("unknown condition '" + name + "' (bare, full, truncated, truncated_gap, suffix)");
}

Scorer::Scorer(Model& model, DType kv_type) : model_(model), kv_type_(kv_type) {
  if (!model.prompt_suffix().empty())
    throw Error("score: " + model.arch() + " is a prefix-LM model, which scoring does not support yet");
}

void Scorer::ensure_capacity(int64_t n) {
  if (n <= capacity_) return;
  capacity_ = std::max<int64_t>(n, capacity_ * 2);
  for (auto* c : {&bare_, &full_, &suffix_, &work_}) *c = std::make_unique<KvCache>(model_.device(), model_.cache_config(capacity_, kv_type_));
}

ConditionScore Scorer::phase_b(Condition condition, const ScoreCase& c, int32_t start) {
  const auto tokens = concat({c.query, c.answer});
  const auto logits = model_.forward(*work_, tokens, iota(start, tokens.size()));
  const size_t vocab = size_t(model_.vocab()), q = c.query.size();
  ConditionScore s{condition, {}, 0.0};
  for (size_t j = 0; j < c.answer.size(); ++j) {
    const float* row = logits.data() + (q - 1 + j) * vocab;  // the position before answer token j
    double max = row[0];
    for (size_t v = 1; v < vocab; ++v) max = std::max(max, double(row[v]));
    double sum = 0;
    for (size_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - max);
    s.token_nll.push_back(max + std::log(sum) - double(row[size_t(c.answer[j])]));
  }
  s.nll_mean = std::accumulate(s.token_nll.begin(), s.token_nll.end(), 0.0) / double(s.token_nll.size());
  return s;
}

std::vector<ConditionScore> Scorer::score(const ScoreCase& c, std::span<const Condition> conditions) {
  auto fail = [&](const std::string& what) { throw Error("case '" + c.id + "': " + what); };
  if (c.query.empty() || c.answer.empty()) fail("query and answer must not be empty");
  if (c.document.empty()) fail("the document is empty");
  const int32_t P = int32_t(c.prefix.size()), D = int32_t(c.document.size());
  const int64_t total = 1 + P + D + int64_t(c.query.size() + c.answer.size());
  if (total > model_.context())
    fail(std::to_string(total) + " tokens (BOS, prefix, document, query, answer) exceed the model's context of " +
         std::to_string(model_.context()));
  for (int32_t t : concat({std::span(&c.bos, 1), c.prefix, c.document, c.query, c.answer}))
    if (t < 0 || t >= model_.vocab())
      fail("token id " + std::to_string(t) + " is out of range (vocabulary of " + std::to_string(model_.vocab()) + ")");
  ensure_capacity(total);

  auto needs = [&](std::initializer_list<Condition> any) {
    for (Condition w : conditions)
      for (Condition a : any)
        if (w == a) return true;
    return false;
  };
  // Phase A, once per layout.
  const std::vector<int32_t> bos{c.bos};
  const bool bare = needs({Condition::Bare, Condition::Suffix});
  if (bare) {
    bare_->clear();
    model_.forward(*bare_, concat({bos, c.document}), iota(0, size_t(1 + D)));
  }
  if (needs({Condition::Full, Condition::Truncated, Condition::TruncatedGap})) {
    full_->clear();
    model_.forward(*full_, concat({bos, c.prefix, c.document}), iota(0, size_t(1 + P + D)));
  }
  if (needs({Condition::Suffix})) {
    suffix_->clear();
    model_.forward(*suffix_, concat({bos, c.document, c.prefix}), iota(0, size_t(1 + D + P)));
    // Causal attention: what follows the document cannot change its entries.
    const auto layers = model_.cache_config(1).n_layers;
    for (int l = 0; l < layers; ++l)
      if (suffix_->read_k(l, 0, 1 + D) != bare_->read_k(l, 0, 1 + D) || suffix_->read_v(l, 0, 1 + D) != bare_->read_v(l, 0, 1 + D))
        fail("suffix: the document's cache entries differ from bare's in layer " + std::to_string(l) +
             " (attention is not causal?)");
  }

  std::vector<int64_t> keep{0};  // BOS and the document, without the prefix
  for (int32_t i = 0; i < D; ++i) keep.push_back(1 + P + i);
  std::vector<ConditionScore> out;
  for (Condition cond : conditions) {
    switch (cond) {
      case Condition::Bare:
        bare_->copy_to(*work_);
        out.push_back(phase_b(cond, c, 1 + D));
        break;
      case Condition::Full:
        full_->copy_to(*work_);
        out.push_back(phase_b(cond, c, 1 + P + D));
        break;
      case Condition::Truncated:
        full_->copy_to(*work_);
        work_->select(keep);
        if (P > 0) work_->reposition(1, D, -P);
        out.push_back(phase_b(cond, c, 1 + D));
        break;
      case Condition::TruncatedGap:
        full_->copy_to(*work_);
        work_->select(keep);
        out.push_back(phase_b(cond, c, 1 + P + D));
        break;
      case Condition::Suffix:
        suffix_->copy_to(*work_);
        out.push_back(phase_b(cond, c, 1 + D + P));
        break;
    }
  }
  return out;
}

}  // namespace vkllm
