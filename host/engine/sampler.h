#pragma once
// Turns one position's logits into the next token, with llama.cpp's chain and defaults:
// repetition/frequency/presence penalties over the recent tokens, then top-k, top-p and min-p,
// then temperature, then a seeded draw. Temperature <= 0 is greedy (argmax).
#include <cstdint>
#include <deque>
#include <random>
#include <span>
#include <vector>

namespace vkllm {

struct SamplerOptions {
  float temperature = 0.8f;
  int top_k = 40;              // <= 0: off
  float top_p = 0.95f;         // >= 1: off
  float min_p = 0.05f;         // <= 0: off
  float repeat_penalty = 1.0f;  // 1: off
  float frequency_penalty = 0.0f, presence_penalty = 0.0f;
  int penalty_last_n = 64;      // tokens the penalties look back over; -1: all
  uint32_t seed = 0;
  // Draw by Gumbel-max (argmax of logit/T + Gumbel noise) instead of inverting the cumulative
  // distribution: the same distribution, no softmax or sort needed.
  bool gumbel = false;
  // Temperature 1 and every filter off: the model's own distribution.
  static SamplerOptions unfiltered(uint32_t seed);
};

class Sampler {
 public:
  explicit Sampler(SamplerOptions options);
  // Records a token (prompt or generated) for the penalties.
  void accept(int32_t token);
  int32_t sample(std::span<const float> logits);
  const SamplerOptions& options() const { return o_; }

 private:
  struct Candidate {
    int32_t id;
    float logit;
  };
  void apply_penalties(std::vector<Candidate>& c) const;
  double uniform();  // in [0, 1), from the seeded generator's bits (the same on every platform)

  SamplerOptions o_;
  std::mt19937 rng_;
  std::deque<int32_t> recent_;
};

}  // namespace vkllm
