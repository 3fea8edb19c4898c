// The sampler chain: greedy is argmax, seeded draws repeat, draws follow the (filtered)
// distribution, filters never let a removed token through, penalties push repeats down.
#include <cmath>

#include "host/engine/sampler.h"
#include "tests/test_util.h"

using namespace vkllm;

// Host code only: runs once, not in every device configuration.
TEST_SUITE_BEGIN("host");

namespace {

std::vector<float> logits_of(std::vector<double> probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(float(std::log(p)));
  return l;
}

// Frequencies of `draws` samples.
std::vector<double> frequencies(SamplerOptions o, const std::vector<float>& logits, int draws) {
  Sampler s(o);
  std::vector<double> f(logits.size());
  for (int i = 0; i < draws; ++i) f[size_t(s.sample(logits))] += 1.0 / draws;
  return f;
}

}  // namespace

TEST_CASE("temperature 0 is greedy, ties to the lowest id") {
  SamplerOptions o;
  o.temperature = 0;
  Sampler s(o);
  CHECK(s.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 3.0f}) == 1);
  o.temperature = 0.7f;
  o.top_k = 1;
  Sampler k1(o);
  CHECK(k1.sample(std::vector<float>{0.1f, 3.0f, -2.0f, 2.9f}) == 1);
}

TEST_CASE("draws follow the distribution, by inverse CDF and by Gumbel-max, and repeat with the seed") {
  const std::vector<double> p{0.5, 0.25, 0.15, 0.1};
  const auto logits = logits_of(p);
  for (bool gumbel : {false, true}) {
    CAPTURE(gumbel);
    auto o = SamplerOptions::unfiltered(42);
    o.gumbel = gumbel;
    const auto f = frequencies(o, logits, 20000);
    for (size_t i = 0; i < p.size(); ++i) CHECK(f[i] == doctest::Approx(p[i]).epsilon(0.05));  // ~4 sigma
    CHECK(frequencies(o, logits, 200) == frequencies(o, logits, 200));
    auto other = o;
    other.seed = 43;
    CHECK(frequencies(o, logits, 200) != frequencies(other, logits, 200));
  }
  // Temperature 2 flattens: p_i^(1/2), renormalized.
  auto hot = SamplerOptions::unfiltered(7);
  hot.temperature = 2.0f;
  const auto f = frequencies(hot, logits, 20000);
  double z = 0;
  for (double q : p) z += std::sqrt(q);
  for (size_t i = 0; i < p.size(); ++i) CHECK(f[i] == doctest::Approx(std::sqrt(p[i]) / z).epsilon(0.06));
}

TEST_CASE("top-k, top-p and min-p remove exactly the tokens they should") {
  const auto logits = logits_of({0.4, 0.3, 0.2, 0.06, 0.04});
  auto base = SamplerOptions::unfiltered(3);
  auto k = base;
  k.top_k = 2;
  auto f = frequencies(k, logits, 4000);
  CHECK(f[2] + f[3] + f[4] == 0.0);
  CHECK(f[0] == doctest::Approx(0.4 / 0.7).epsilon(0.08));
  auto p = base;
  p.top_p = 0.85f;  // 0.4 + 0.3 < 0.85 <= 0.4 + 0.3 + 0.2: three tokens stay
  f = frequencies(p, logits, 4000);
  CHECK(f[3] + f[4] == 0.0);
  CHECK(f[2] > 0.0);
  auto m = base;
  m.min_p = 0.5f;  // p >= 0.2: three tokens stay
  f = frequencies(m, logits, 4000);
  CHECK(f[3] + f[4] == 0.0);
  CHECK(f[2] > 0.0);
}

TEST_CASE("penalties make recent tokens less likely, whatever their logit's sign") {
  SamplerOptions o;
  o.temperature = 0;
  o.repeat_penalty = 1.5f;
  {
    Sampler s(o);
    s.accept(0);
    CHECK(s.sample(std::vector<float>{1.2f, 1.0f}) == 1);  // 1.2 / 1.5 = 0.8 < 1.0
  }
  {
    Sampler s(o);
    s.accept(0);
    CHECK(s.sample(std::vector<float>{-1.0f, -1.4f}) == 1);  // -1.0 * 1.5 = -1.5 < -1.4
  }
  o.repeat_penalty = 1.0f;
  o.frequency_penalty = 0.3f;
  o.penalty_last_n = 2;
  Sampler s(o);
  for (int t : {0, 0}) s.accept(t);
  CHECK(s.sample(std::vector<float>{1.5f, 1.0f}) == 1);  // 1.5 - 2 * 0.3 = 0.9
  s.accept(1);
  s.accept(1);  // token 0 has left the window of 2
  CHECK(s.sample(std::vector<float>{1.5f, 1.0f}) == 0);
}

TEST_CASE("bad sampler settings are refused") {
  SamplerOptions o;
  o.top_p = 0;
  CHECK_THROWS_WITH_AS(Sampler{o}, doctest::Contains("top-p"), Error);
  o = {};
  o.repeat_penalty = 0;
  CHECK_THROWS_WITH_AS(Sampler{o}, doctest::Contains("repetition penalty"), Error);
}

TEST_SUITE_END();
