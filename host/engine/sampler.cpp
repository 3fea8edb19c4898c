#include "host/engine/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "runtime/error.h"

namespace vkllm {

SamplerOptions SamplerOptions::unfiltered(uint32_t seed) {
  SamplerOptions o;
  o.temperature = 1.0f;
  o.top_k = 0;
  o.top_p = 1.0f;
  o.min_p = 0.0f;
  o.seed = seed;
  return o;
}

Sampler::Sampler(SamplerOptions options) : o_(options), rng_(options.seed) {
  require(std::isfinite(o_.temperature), "sampler: temperature must be a number");
  require(o_.top_p > 0.0f, "sampler: top-p must be positive");
  require(o_.min_p <= 1.0f, "sampler: min-p must be at most 1");
  require(o_.repeat_penalty > 0.0f, "sampler: the repetition penalty must be positive");
}

void Sampler::accept(int32_t token) {
  recent_.push_back(token);
  if (o_.penalty_last_n >= 0)
    while (recent_.size() > size_t(o_.penalty_last_n)) recent_.pop_front();
}

double Sampler::uniform() { return double(rng_() >> 8) * (1.0 / 16777216.0); }

void Sampler::apply_penalties(std::vector<Candidate>& c) const {
  if (recent_.empty() || (o_.repeat_penalty == 1.0f && o_.frequency_penalty == 0.0f && o_.presence_penalty == 0.0f)) return;
  std::unordered_map<int32_t, int> count;
  for (int32_t t : recent_) ++count[t];
  for (auto [id, n] : count) {
    if (id < 0 || size_t(id) >= c.size()) continue;
    float& l = c[size_t(id)].logit;
    l = l <= 0.0f ? l * o_.repeat_penalty : l / o_.repeat_penalty;  // always toward less likely
    l -= float(n) * o_.frequency_penalty + o_.presence_penalty;
  }
}

int32_t Sampler::sample(std::span<const float> logits) {
  require(!logits.empty(), "sampler: no logits");
  std::vector<Candidate> c(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c[i] = {int32_t(i), logits[i]};
  apply_penalties(c);

  auto best = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  if (o_.temperature <= 0.0f) return std::min_element(c.begin(), c.end(), best)->id;

  // Filters work on candidates sorted best first; each keeps at least one.
  const bool filtering = o_.top_k > 0 || o_.top_p < 1.0f || o_.min_p > 0.0f;
  if (filtering) {
    const size_t k = o_.top_k > 0 ? std::min(c.size(), size_t(o_.top_k)) : c.size();
    std::partial_sort(c.begin(), c.begin() + std::ptrdiff_t(k), c.end(), best);
    c.resize(k);
    const float top = c.front().logit;
    if (o_.top_p < 1.0f) {
      std::vector<double> p(c.size());
      double sum = 0;
      for (size_t i = 0; i < c.size(); ++i) sum += p[i] = std::exp(double(c[i].logit - top));
      double cumulative = 0;
      size_t keep = c.size();
      for (size_t i = 0; i < c.size(); ++i) {
        cumulative += p[i] / sum;
        if (cumulative >= o_.top_p) {
          keep = i + 1;
          break;
        }
      }
      c.resize(keep);
    }
    if (o_.min_p > 0.0f) {  // p >= min_p * p_max  <=>  logit >= top + log(min_p)
      const float floor = top + std::log(o_.min_p);
      size_t keep = 1;
      while (keep < c.size() && c[keep].logit >= floor) ++keep;
      c.resize(keep);
    }
    // Draw in token order, not probability order: two nearly tied logits that swap places
    // (rounding differences between two equivalent computations) then cannot change the draw.
    std::sort(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
  }
  float max_logit = c.front().logit;
  for (const Candidate& x : c) max_logit = std::max(max_logit, x.logit);

  const double inv_t = 1.0 / double(o_.temperature);
  if (o_.gumbel) {
    size_t pick = 0;
    double top = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < c.size(); ++i) {
      const double u = std::max(uniform(), 1e-300);
      const double score = double(c[i].logit) * inv_t - std::log(-std::log(u));
      if (score > top) top = score, pick = i;
    }
    return c[pick].id;
  }
  std::vector<double> p(c.size());
  double sum = 0;
  for (size_t i = 0; i < c.size(); ++i) sum += p[i] = std::exp((double(c[i].logit) - max_logit) * inv_t);
  const double target = uniform() * sum;
  double cumulative = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    cumulative += p[i];
    if (target < cumulative) return c[i].id;
  }
  return c.back().id;
}

}  // namespace vkllm
