// Generation through the session API: the KV cache changes nothing (cached == recomputed),
// end-of-generation and stop strings end it, and bad requests are refused before any work.
#include "host/engine/generate.h"
#include "host/engine/session.h"
#include "models/llama2c.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

// Whole-model runs: once, in the default device configuration (the kernels they use are
// tested in every configuration by the op tests).
TEST_SUITE_BEGIN("end_to_end");

namespace {

// A stand-in vocabulary for stories260K (whose own tokenizer is not available): token i is "t<i> ".
Vocab numbered_vocab(int n, int32_t eos) {
  Vocab v;
  v.kind = TokenizerKind::Spm;
  for (int i = 0; i < n; ++i) {
    std::string piece = std::to_string(i);  // built by append: GCC 12 misreports "t" + ... (-Wrestrict)
    v.tokens.push_back(piece.insert(0, 1, 't').append(" "));
  }
  v.types.assign(size_t(n), TokenType::Normal);
  v.scores.assign(size_t(n), 0.0f);
  v.eos = eos;
  return v;
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "sampling with and without the KV cache gives the same tokens and logits") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  Session cached(*model), recomputed(*model, {.use_cache = false});
  const int32_t bos = 1;
  for (uint32_t seed : {42u, 123u, 456u, 789u, 999u}) {
    for (int length : {5, 10, 20, 50}) {
      CAPTURE(seed);
      CAPTURE(length);
      cached.clear();
      recomputed.clear();
      Sampler a(SamplerOptions::unfiltered(seed)), b(SamplerOptions::unfiltered(seed));
      std::vector<float> la = cached.decode_last({&bos, 1}), lb = recomputed.decode_last({&bos, 1});
      float worst = 0;
      bool same_tokens = true;
      for (int i = 0; i < length; ++i) {
        worst = std::max(worst, max_abs_diff(la, lb));
        const int32_t ta = a.sample(la), tb = b.sample(lb);
        same_tokens = same_tokens && ta == tb;
        la = cached.decode_last({&ta, 1});
        lb = recomputed.decode_last({&tb, 1});
      }
      CHECK(same_tokens);
      CHECK(worst <= 1e-4f);
      CHECK(cached.tokens() == recomputed.tokens());
    }
  }
  // The user-facing loop agrees as well.
  cached.clear();
  recomputed.clear();
  const GenerateOptions g{.max_tokens = 20, .sampling = SamplerOptions::unfiltered(5)};
  CHECK(generate(cached, nullptr, std::vector<int32_t>{bos}, g).tokens == generate(recomputed, nullptr, std::vector<int32_t>{bos}, g).tokens);
}

TEST_CASE_FIXTURE(GpuTest, "generation ends at end-of-generation tokens and before stop strings") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  const std::vector<int32_t> prompt{1};
  GenerateOptions greedy{.max_tokens = 12};
  greedy.sampling.temperature = 0;
  Session s(*model);
  const Tokenizer plain(numbered_vocab(512, 2));
  const auto free_run = generate(s, &plain, prompt, greedy);
  REQUIRE(free_run.tokens.size() == 12);
  CHECK(free_run.stop == GenerateResult::Stop::MaxTokens);
  CHECK(free_run.text == plain.decode(free_run.tokens));

  // The third greedy token as end of generation: two tokens come out, the EOS does not.
  const Tokenizer eos_third(numbered_vocab(512, free_run.tokens[2]));
  s.clear();
  auto r = generate(s, &eos_third, prompt, greedy);
  const int first_eos = int(std::find(free_run.tokens.begin(), free_run.tokens.end(), free_run.tokens[2]) - free_run.tokens.begin());
  CHECK(r.stop == GenerateResult::Stop::EndOfGeneration);
  CHECK(r.tokens == std::vector<int32_t>(free_run.tokens.begin(), free_run.tokens.begin() + first_eos));

  // A stop string spanning the end of one token and the start of the next: the text ends
  // before its first occurrence, and no part of it was streamed.
  const std::string third = plain.piece(free_run.tokens[2]), fourth = plain.piece(free_run.tokens[3]);
  const std::string stop = third.substr(third.size() - 2) + fourth.substr(0, 2);
  const std::string whole = free_run.text;
  REQUIRE(whole.find(stop) != std::string::npos);
  size_t needed = 1;  // tokens until the stop string is complete
  while (plain.decode(std::vector<int32_t>(free_run.tokens.begin(), free_run.tokens.begin() + std::ptrdiff_t(needed))).find(stop) == std::string::npos) ++needed;
  GenerateOptions stopping = greedy;
  stopping.stop = {stop};
  s.clear();
  std::string streamed;
  r = generate(s, &plain, prompt, stopping, [&](std::string_view t) { streamed += t; });
  CHECK(r.stop == GenerateResult::Stop::StopString);
  CHECK(r.text == whole.substr(0, whole.find(stop)));
  CHECK(streamed == r.text);
  CHECK(r.tokens.size() == needed);
}

TEST_CASE_FIXTURE(GpuTest, "bad requests are refused with a clear error and leave the session usable") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  Session s(*model, {.context = 16});
  CHECK_THROWS_WITH_AS(s.decode(std::vector<int32_t>{1, 512}), doctest::Contains("token id 512 is out of range (vocabulary of 512)"), Error);
  CHECK_THROWS_WITH_AS(s.decode(std::vector<int32_t>{-1}), doctest::Contains("token id -1 is out of range"), Error);
  CHECK(s.tokens().empty());
  GenerateOptions g{.max_tokens = 15};
  CHECK_THROWS_WITH_AS(generate(s, nullptr, std::vector<int32_t>{1, 2}, g), doctest::Contains("context overflow"), Error);
  CHECK(s.tokens().empty());
  CHECK_THROWS_WITH_AS(Session(*model, {.context = 513}), doctest::Contains("exceeds the model's context of 512"), Error);
  g.max_tokens = 14;
  CHECK(generate(s, nullptr, std::vector<int32_t>{1, 2}, g).tokens.size() == 14);
  CHECK(s.tokens().size() == 15);  // the last generated token is not decoded
  CHECK_THROWS_WITH_AS(s.decode(std::vector<int32_t>{3, 4}), doctest::Contains("context overflow"), Error);
}

TEST_SUITE_END();
