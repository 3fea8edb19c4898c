// Two-phase scoring: llama.cpp's NLLs for the shared score cases on the real stories260K
// (interleaved RoPE) and tiny-qwen2 (half-split), and the properties the conditions are
// defined by.
#include <algorithm>
#include <cstring>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <span>

#include <nlohmann/json.hpp>

#include "host/research/score.h"
#include "models/load.h"
#include "models/make_model.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_SUITE_BEGIN("end_to_end");

namespace {

std::vector<ScoreCase> read_cases(const std::string& rel) {
  auto path = shared_data(rel);
  if (!path) return {};
  std::vector<ScoreCase> out;
  std::ifstream in(*path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    const int32_t bos = j["bos"].is_null() ? -1 : j["bos"].get<int32_t>();  // null: none (encoder-decoder models)
    out.push_back(ScoreCase{j["id"], bos, j["prefix"], j["document"], j["query"], j["answer"]});
  }
  return out;
}

// NLL of the last n tokens of `logits`' sequence, each from the row before it.
std::vector<double> answer_nll(const std::vector<float>& logits, size_t vocab, std::span<const int32_t> tokens, size_t first_row) {
  std::vector<double> nll;
  for (size_t j = 0; j < tokens.size(); ++j) {
    const float* row = logits.data() + (first_row + j) * vocab;
    double mx = row[0], sum = 0;
    for (size_t v = 0; v < vocab; ++v) mx = std::max(mx, double(row[v]));
    for (size_t v = 0; v < vocab; ++v) sum += std::exp(double(row[v]) - mx);
    nll.push_back(mx + std::log(sum) - double(row[size_t(tokens[j])]));
  }
  return nll;
}

std::vector<double> one_pass_answer_nll(Model& model, const std::vector<int32_t>& all, size_t n_answer) {
  KvCache cache(gpu(), model.cache_config(int64_t(all.size())));
  std::vector<int32_t> positions(all.size());
  for (size_t i = 0; i < all.size(); ++i) positions[i] = int32_t(i);
  const auto logits = model.forward(cache, all, positions);
  return answer_nll(logits, size_t(model.vocab()), std::span(all).last(n_answer), all.size() - n_answer - 1);
}

double max_diff(const std::vector<double>& a, const std::vector<double>& b) {
  REQUIRE(a.size() == b.size());
  double m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// The truncated condition by hand: Phase A [BOS] + prefix + document at 0.., then BOS and the
// document kept and re-rotated by -P, then Phase B's answer NLLs from position 1 + D.
void full_phase_a(Model& model, KvCache& cache, const ScoreCase& c) {
  std::vector<int32_t> phase_a{c.bos};
  phase_a.insert(phase_a.end(), c.prefix.begin(), c.prefix.end());
  phase_a.insert(phase_a.end(), c.document.begin(), c.document.end());
  model.forward(cache, phase_a, iota_positions(phase_a.size()));
}
void drop_prefix(KvCache& cache, const ScoreCase& c) {
  const int64_t P = int64_t(c.prefix.size()), D = int64_t(c.document.size());
  std::vector<int64_t> keep{0};
  for (int64_t i = 0; i < D; ++i) keep.push_back(1 + P + i);
  cache.select(keep);
  cache.reposition(1, D, int32_t(-P));
}
std::vector<double> phase_b_nll(Model& model, KvCache& cache, const ScoreCase& c) {
  std::vector<int32_t> phase_b(c.query), positions;
  phase_b.insert(phase_b.end(), c.answer.begin(), c.answer.end());
  for (size_t i = 0; i < phase_b.size(); ++i) positions.push_back(int32_t(1 + c.document.size() + i));
  return answer_nll(model.forward(cache, phase_b, positions), size_t(model.vocab()), c.answer, c.query.size() - 1);
}

// llama.cpp's answer NLLs per case id and condition name (reference/NAME-score-expected.jsonl:
// one line per case, {"id", condition: {"token_nll"}}); empty when the data is absent.
std::map<std::string, std::map<std::string, std::vector<double>>> read_expected(const std::string& name) {
  std::map<std::string, std::map<std::string, std::vector<double>>> out;
  auto path = shared_data("reference/" + name + "-score-expected.jsonl");
  if (!path) return out;
  std::ifstream in(*path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line);
    auto& conditions = out[j.at("id").get<std::string>()];
    for (const auto& [key, value] : j.items())
      if (value.is_object()) conditions[key] = value.at("token_nll").get<std::vector<double>>();
  }
  return out;
}

const std::vector<Condition> kReferenceConditions{Condition::Bare, Condition::Full, Condition::Truncated, Condition::TruncatedGap};

// Every case and condition within 2e-4 of llama.cpp, answer token by answer token.
void check_expected_scores(const std::string& model_rel, const std::string& name,
                           const std::vector<Condition>& conditions = kReferenceConditions) {
  auto path = shared_data(model_rel);
  const auto cases = read_cases("reference/" + name + "-score-cases.jsonl");
  const auto expected = read_expected(name);
  if (!path || cases.empty() || expected.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Scorer scorer(*loaded.model);
  REQUIRE(expected.size() == cases.size());
  double worst = 0;
  for (const ScoreCase& c : cases) {
    const auto scores = scorer.score(c, conditions).conditions;
    for (size_t i = 0; i < conditions.size(); ++i) {
      const std::string condition = condition_name(conditions[i]);
      CAPTURE(c.id);
      CAPTURE(condition);
      const double diff = max_diff(scores[i].token_nll, expected.at(c.id).at(condition));
      CHECK(diff <= 2e-4);
      worst = std::max(worst, diff);
    }
  }
  MESSAGE(name << ": " << cases.size() << " cases x " << conditions.size() << " conditions, max NLL difference " << worst);
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "stories260K: every condition's answer NLLs match llama.cpp") {
  check_expected_scores("models/stories260K.bin", "stories260K");
}

TEST_CASE_FIXTURE(GpuTest, "tiny-qwen2 (half-split RoPE): every condition's answer NLLs match llama.cpp") {
  check_expected_scores("models/tiny-qwen2.gguf", "tiny-qwen2");
}

TEST_CASE_FIXTURE(GpuTest, "tiny-gemma2 (sliding windows, soft-caps): every condition's answer NLLs match llama.cpp") {
  check_expected_scores("models/tiny-gemma2.gguf", "tiny-gemma2");
}

// The reference has no truncated condition (its implementation re-rotates every layer with the
// global layers' RoPE); the next test checks that one by its definition.
TEST_CASE_FIXTURE(GpuTest, "tiny-gemma3 (QK-norm, two RoPE bases): bare, full and truncated_gap match llama.cpp") {
  check_expected_scores("models/tiny-gemma3.gguf", "tiny-gemma3", {Condition::Bare, Condition::Full, Condition::TruncatedGap});
}

// Truncated on Gemma 3: after select + reposition every layer's keys are the document's keys
// rotated at their new positions with that layer's own RoPE, and the scorer scores Phase B on
// exactly that cache. Re-rotating every layer with the global layer's base (the reference's
// bug) leaves the global layer right and every sliding layer wrong.
TEST_CASE_FIXTURE(GpuTest, "tiny-gemma3 truncated: every layer re-rotated with its own RoPE, by definition") {
  auto path = shared_data("models/tiny-gemma3.gguf");
  const auto cases = read_cases("reference/tiny-gemma3-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Model& model = *loaded.model;
  Scorer scorer(model);
  const ScoreCase& c = cases[0];
  const int32_t P = int32_t(c.prefix.size()), D = int32_t(c.document.size());
  const auto truncated = scorer.score(c, std::vector<Condition>{Condition::Truncated}).conditions[0].token_nll;
  for (const bool one_rope_for_all : {false, true}) {
    CAPTURE(one_rope_for_all);
    KvCacheConfig config = model.cache_config(1 + P + D + int64_t(c.query.size() + c.answer.size()));
    REQUIRE(config.layer_rope.size() == 7);
    const std::vector<RopeConfig> per_layer = config.layer_rope;
    if (one_rope_for_all) config.layer_rope.clear();  // every layer with config.rope: the global layers'
    KvCache cache(gpu(), config);
    full_phase_a(model, cache, c);
    const int64_t width = config.n_kv_heads * config.head_dim;
    std::vector<ref::Mat> before;
    for (int l = 0; l < 7; ++l) {
      ref::Mat k(D, width);
      const auto bytes = cache.read_k(l, 1 + P, D);
      std::memcpy(k.v.data(), bytes.data(), bytes.size());
      before.push_back(std::move(k));
    }
    drop_prefix(cache, c);
    std::vector<int32_t> old_positions, new_positions;
    for (int32_t i = 0; i < D; ++i) {
      old_positions.push_back(-(1 + P + i));  // undoes the rotation at 1 + P + i
      new_positions.push_back(1 + i);
    }
    for (int l = 0; l < 7; ++l) {
      CAPTURE(l);
      const RopeConfig& r = per_layer[size_t(l)];
      const ref::Mat want = ref::rope(ref::rope(before[size_t(l)], config.n_kv_heads, r, {old_positions}), config.n_kv_heads, r, {new_positions});
      ref::Mat got(D, width);
      const auto bytes = cache.read_k(l, 1, D);
      std::memcpy(got.v.data(), bytes.data(), bytes.size());
      const float error = max_rel_diff(got, want);
      if (one_rope_for_all && l != 5) CHECK(error > 1e-2f);
      else CHECK(error <= 1e-5f);
    }
    if (!one_rope_for_all) CHECK(max_diff(truncated, phase_b_nll(model, cache, c)) <= 1e-6);
  }
}

// The seeds' text layout through Gemma 3's real tokenizer (which adds BOS and no space
// prefix): Phase A is exactly the tokens of [BOS] prefix \n document, the document's tokens are
// its tokens alone (bare and full hold the same document), Phase B those of \n query \n answer.
TEST_CASE("text cases take the seeds' layout through Gemma 3's tokenizer; a merge across a boundary is an error") {
  auto path = shared_data("tokenizers/hf/gemma3/tokenizer.json");
  if (!path) return;
  const Tokenizer tok = load_tokenizer(*path);
  const TextCase t{"capital", "You are an expert reader.\n", "The capital of France is Paris. It lies on the Seine.",
                   "\nWhat is the capital of France?\n", "Paris"};
  const ScoreCase c = tokenize_case(tok, t);
  const std::vector<int32_t> newline = tok.encode("\n", false);
  REQUIRE(newline.size() == 1);
  CHECK(c.id == "capital");
  CHECK(c.bos == 2);
  CHECK(c.prefix.back() == newline[0]);
  std::vector<int32_t> phase_a{c.bos};
  phase_a.insert(phase_a.end(), c.prefix.begin(), c.prefix.end());
  phase_a.insert(phase_a.end(), c.document.begin(), c.document.end());
  CHECK(phase_a == tok.encode(t.prefix + t.document));
  CHECK(c.document == tok.encode(t.document, false));
  CHECK(c.query.front() == newline[0]);
  CHECK(c.query.back() == newline[0]);
  std::vector<int32_t> phase_b(c.query);
  phase_b.insert(phase_b.end(), c.answer.begin(), c.answer.end());
  CHECK(phase_b == tok.encode(t.query + t.answer, false));
  CHECK_THROWS_WITH_AS(tokenize_case(tok, {"merge", "The capi", "tal of France", "?", "Paris"}),
                       doctest::Contains("the tokens of the document merge with what precedes it"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "tiny-t5 (encoder-decoder): bare, full and truncated match llama.cpp") {
  check_expected_scores("models/tiny-t5.gguf", "tiny-t5", {Condition::Bare, Condition::Full, Condition::Truncated});
}

// Encoder-decoder truncation removes cross-attention entries: with no prefix it is bare bit for
// bit, with one it differs from full (the decoder no longer sees the prefix's outputs) and
// from bare (the document's outputs saw the prefix in the encoder).
namespace {
void check_encoder_decoder_truncation(Model& model, ScoreCase c) {
  Scorer scorer(model);
  const std::vector<Condition> conditions{Condition::Bare, Condition::Full, Condition::Truncated, Condition::TruncatedGap};
  const auto s = scorer.score(c, conditions).conditions;
  CHECK(max_diff(s[2].token_nll, s[1].token_nll) > 1e-3);
  CHECK(max_diff(s[2].token_nll, s[0].token_nll) > 1e-3);
  CHECK(s[3].token_nll == s[2].token_nll);
  c.prefix.clear();
  const auto empty = scorer.score(c, conditions).conditions;
  for (size_t i = 1; i < empty.size(); ++i) CHECK(empty[i].token_nll == empty[0].token_nll);
  c.bos = 0;
  CHECK_THROWS_WITH_AS(scorer.score(c, conditions), doctest::Contains("its decoder starts with its own token"), Error);
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "tiny-t5 truncated: bare exactly without a prefix, neither full nor bare with one") {
  auto path = shared_data("models/tiny-t5.gguf");
  const auto cases = read_cases("reference/tiny-t5-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  check_encoder_decoder_truncation(*loaded.model, cases[0]);
}

TEST_CASE_FIXTURE(GpuTest, "BART, T5Gemma and T5Gemma 2 truncated: bare exactly without a prefix, neither full nor bare with one") {
  for (const char* arch : {"bart", "t5gemma", "t5gemma2"}) {
    CAPTURE(arch);
    SyntheticModel m = small_model(arch, "f32");
    m.dim = 128;  // enough weight for a prefix to move the answer's NLL
    LoadedModel loaded = load_synthetic(m);
    check_encoder_decoder_truncation(*loaded.model, {"synthetic", -1, {40, 41, 42, 43, 44, 45}, {50, 51, 52, 53, 54, 55, 56, 57}, {60, 61}, {70, 71, 72}});
  }
}

// Splitting the work into a cached Phase A and a Phase B changes nothing: bare and full equal
// one causal pass over [BOS] + (prefix) + document + query + answer.
TEST_CASE_FIXTURE(GpuTest, "bare and full scores equal one causal pass over the whole sequence") {
  auto path = shared_data("models/stories260K.bin");
  const auto cases = read_cases("reference/stories260K-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Scorer scorer(*loaded.model);
  for (const auto& c : cases) {
    CAPTURE(c.id);
    const auto s = scorer.score(c, std::vector<Condition>{Condition::Bare, Condition::Full}).conditions;
    for (const bool with_prefix : {false, true}) {
      std::vector<int32_t> all{c.bos};
      if (with_prefix) all.insert(all.end(), c.prefix.begin(), c.prefix.end());
      for (auto* part : {&c.document, &c.query, &c.answer}) all.insert(all.end(), part->begin(), part->end());
      CHECK(max_diff(s[with_prefix ? 1 : 0].token_nll, one_pass_answer_nll(*loaded.model, all, c.answer.size())) <= 1e-4);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "truncated with an empty prefix is bare exactly, suffix keeps bare's document entries") {
  auto path = shared_data("models/stories260K.bin");
  const auto cases = read_cases("reference/stories260K-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Scorer scorer(*loaded.model);
  ScoreCase c = cases[0];
  const auto with_prefix = scorer.score(c, std::vector<Condition>{Condition::Bare, Condition::Suffix}).conditions;
  CHECK(with_prefix[1].token_nll != with_prefix[0].token_nll);  // the prefix after the document is visible to the query
  c.prefix.clear();
  const auto s = scorer.score(c, std::vector<Condition>{Condition::Bare, Condition::Truncated, Condition::TruncatedGap, Condition::Full}).conditions;
  for (size_t i = 1; i < s.size(); ++i) CHECK(s[i].token_nll == s[0].token_nll);
}

// The pairing matters: the scorer's truncated condition equals the surgery done by hand with
// the model's half-split pairing, and the same surgery with GPT-J pairs misses llama.cpp.
TEST_CASE_FIXTURE(GpuTest, "truncated re-rotates with the model's pairing; the wrong pairing changes the scores") {
  auto path = shared_data("models/tiny-qwen2.gguf");
  const auto cases = read_cases("reference/tiny-qwen2-score-cases.jsonl");
  const auto expected = read_expected("tiny-qwen2");
  if (!path || cases.empty() || expected.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Model& model = *loaded.model;
  Scorer scorer(model);
  for (const ScoreCase& c : cases) {
    CAPTURE(c.id);
    const auto truncated = scorer.score(c, std::vector<Condition>{Condition::Truncated}).conditions[0].token_nll;
    std::vector<double> by_hand[2];
    for (int wrong = 0; wrong < 2; ++wrong) {
      KvCacheConfig config = model.cache_config(int64_t(1 + c.prefix.size() + c.document.size() + c.query.size() + c.answer.size()));
      REQUIRE(config.rope->pairing == RopePairing::HalfSplit);
      if (wrong) config.rope->pairing = RopePairing::Interleaved;  // the bug: keys re-rotated with GPT-J pairs
      KvCache cache(gpu(), config);
      full_phase_a(model, cache, c);
      drop_prefix(cache, c);
      by_hand[wrong] = phase_b_nll(model, cache, c);
    }
    CHECK(max_diff(truncated, by_hand[0]) <= 1e-6);
    CHECK(max_diff(by_hand[1], expected.at(c.id).at("truncated")) > 1e-2);
  }
}

namespace {

LoadedModel synthetic(const char* arch, int window) {
  SyntheticModel m = small_model(arch);
  m.context = 128;
  m.sliding_window = window;
  return load_synthetic(m);
}

ScoreCase counting_case(int32_t bos, int prefix, int document) {
  ScoreCase c{"c", bos, {}, {}, {40, 41, 42}, {50, 51, 52, 53}};
  for (int i = 0; i < prefix; ++i) c.prefix.push_back(100 + 7 * i % 150);
  for (int i = 0; i < document; ++i) c.document.push_back(20 + 11 * i % 200);
  return c;
}

const std::vector<Condition> kAll{Condition::Bare, Condition::Full, Condition::Truncated, Condition::TruncatedGap, Condition::Suffix};

}  // namespace

// A case longer than the window: refused by default; cut to fit, every condition then scores
// exactly what the same weights without a window give, since nothing falls outside it.
TEST_CASE_FIXTURE(GpuTest, "sliding-window models: a case past the window is refused or its document cut to fit") {
  LoadedModel windowed = synthetic("llama", 24), full = synthetic("llama", 0);
  const ScoreCase c = counting_case(1, 5, 20);  // spans 1 + 5 + 20 + 3 + 4 = 33 positions
  Scorer refusing(*windowed.model);
  CHECK_THROWS_WITH_AS(refusing.score(c, kAll), doctest::Contains("spans 33 positions but the model's sliding-window layers attend within 24"), Error);
  // bare alone spans 28: still too long.
  CHECK_THROWS_AS(refusing.score(c, std::vector<Condition>{Condition::Bare}), Error);
  Scorer cutting(*windowed.model, {.window = WindowPolicy::TruncateDocument});
  const CaseScore cut = cutting.score(c, kAll);
  CHECK(cut.document_tokens == 11);
  CHECK(cut.document_tokens_dropped == 9);
  ScoreCase shorter = c;
  shorter.document.resize(11);
  const CaseScore reference = Scorer(*full.model).score(shorter, kAll);
  REQUIRE(cut.conditions.size() == reference.conditions.size());
  for (size_t i = 0; i < cut.conditions.size(); ++i) CHECK(max_diff(cut.conditions[i].token_nll, reference.conditions[i].token_nll) <= 1e-5);
  // The prefix counts toward the span of the conditions that use it.
  ScoreCase wide = c;
  wide.prefix.resize(10, 7);
  CHECK(cutting.score(wide, std::vector<Condition>{Condition::Full}).document_tokens_dropped == 14);
  CHECK(cutting.score(wide, std::vector<Condition>{Condition::Bare}).document_tokens_dropped == 4);
  CHECK_THROWS_WITH_AS(cutting.score(counting_case(1, 30, 5), kAll), doctest::Contains("even with the document cut"), Error);
}

// Prefix-LM (ChatGLM-6B): Phase A is bidirectional, Phase B is query + [gMASK] + BOS + answer
// at the model's own 2D positions. The identities that hold for any attention still hold.
TEST_CASE_FIXTURE(GpuTest, "prefix-LM models: every condition scores; an empty prefix makes them all bare") {
  LoadedModel glm = synthetic("chatglm6b", 0);
  Scorer scorer(*glm.model);
  const CaseScore s = scorer.score(counting_case(-1, 4, 9), kAll);
  REQUIRE(s.conditions.size() == 5);
  for (const auto& cs : s.conditions) {
    CHECK(cs.token_nll.size() == 4);
    for (double v : cs.token_nll) CHECK((std::isfinite(v) && v > 0));
  }
  // bare by hand: the document as a bidirectional prompt region, then query, [gMASK], BOS and
  // answer placed by the model. A causal Phase A gives other scores.
  const ScoreCase c = counting_case(-1, 4, 9);
  const auto suffix = glm.model->prompt_suffix();
  std::vector<int32_t> phase_b = c.query;
  phase_b.insert(phase_b.end(), suffix.begin(), suffix.end());
  phase_b.insert(phase_b.end(), c.answer.begin(), c.answer.end());
  for (const bool bidirectional : {true, false}) {
    KvCache cache(gpu(), glm.model->cache_config(64));
    std::vector<int32_t> positions, blocks(c.document.size(), 0);
    for (size_t i = 0; i < c.document.size(); ++i) positions.push_back(int32_t(i));
    glm.model->forward(cache, c.document, positions, {.block_positions = blocks, .prefix = bidirectional ? int32_t(c.document.size()) : 0});
    const PositionPlan plan = glm.model->plan_positions(c.document, phase_b);
    const auto nll = answer_nll(glm.model->forward(cache, phase_b, plan.positions, plan.extras()), size_t(glm.model->vocab()), c.answer,
                                c.query.size() + suffix.size() - 1);
    if (bidirectional)
      CHECK(nll == s.conditions[0].token_nll);
    else
      CHECK(max_diff(nll, s.conditions[0].token_nll) > 1e-6);
  }
  const CaseScore empty = scorer.score(counting_case(-1, 0, 9), kAll);
  for (const auto& cs : empty.conditions) CHECK(cs.token_nll == empty.conditions[0].token_nll);
  CHECK(max_diff(empty.conditions[0].token_nll, s.conditions[0].token_nll) == 0);  // bare ignores the prefix
  // ChatGLM's BOS comes after [gMASK]; one at the start is refused.
  CHECK_THROWS_WITH_AS(scorer.score(counting_case(299, 4, 9), kAll), doctest::Contains("give \"bos\": null"), Error);
  ScoreCase with_gmask = counting_case(-1, 4, 9);
  with_gmask.document[3] = 298;
  CHECK_THROWS_WITH_AS(scorer.score(with_gmask, kAll), doctest::Contains("may not appear before the answer"), Error);
}

// The probe reports what attention did: each query's probabilities sum to 1 over the keys it
// may see and are 0 elsewhere (later slots, keys past a sliding window); the scorer's segment
// shares sum to 1, and bare gives the prefix none.
TEST_CASE_FIXTURE(GpuTest, "attention probes: probabilities respect the mask; segment shares add up") {
  LoadedModel windowed = synthetic("llama", 6);
  Model& model = *windowed.model;
  KvCache cache(gpu(), model.cache_config(32));
  std::vector<int32_t> tokens, positions;
  for (int i = 0; i < 14; ++i) tokens.push_back(20 + 13 * i % 250), positions.push_back(i);
  model.forward(cache, std::span(tokens).first(10), std::span(positions).first(10));
  AttentionProbe probe;
  model.forward(cache, std::span(tokens).last(4), std::span(positions).last(4), {.probe = &probe});
  REQUIRE(probe.layers.size() == 2);
  CHECK(probe.n_heads == 4);
  CHECK(probe.n_tokens == 4);
  CHECK(probe.n_kv == 14);
  for (int l = 0; l < 2; ++l)
    for (int h = 0; h < 4; ++h)
      for (int i = 0; i < 4; ++i) {
        const int pos = 10 + i;
        double sum = 0;
        for (int slot = 0; slot < 14; ++slot) {
          const float p = probe.at(l, h, i, slot);
          if (slot > pos || pos - slot >= 6) CHECK(p == 0.0f);
          sum += p;
        }
        CHECK(std::fabs(sum - 1.0) < 1e-5);
      }

  LoadedModel full = synthetic("llama", 0);
  Scorer scorer(*full.model, {.probe = true});
  const CaseScore s = scorer.score(counting_case(1, 3, 4), kAll);
  for (const auto& cs : s.conditions) {
    CAPTURE(condition_name(cs.condition));
    REQUIRE(cs.attention_share.size() == 2);
    for (const auto& layer : cs.attention_share) {
      double sum = 0;
      for (double v : layer) sum += v;
      CHECK(std::fabs(sum - 1.0) < 1e-5);
      CHECK(layer[size_t(Segment::Document)] > 0);
      CHECK((cs.condition == Condition::Bare || cs.condition == Condition::Truncated || cs.condition == Condition::TruncatedGap)
                == (layer[size_t(Segment::Prefix)] == 0));
    }
  }
}

// --no-query: the decoder reads [start] + answer, which is the case with an empty query, and
// differs from reading the query; decoder-only models refuse it.
TEST_CASE_FIXTURE(GpuTest, "tiny-t5 without the query in the decoder scores the answer after the start token alone") {
  auto path = shared_data("models/tiny-t5.gguf");
  const auto cases = read_cases("reference/tiny-t5-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  const std::vector<Condition> conditions{Condition::Bare, Condition::Truncated};
  ScoreCase c = cases[0];
  const auto no_query = Scorer(*loaded.model, {.decoder_query = false}).score(c, conditions).conditions;
  Scorer scorer(*loaded.model);
  const auto with_query = scorer.score(c, conditions).conditions;
  c.query.clear();
  const auto empty_query = scorer.score(c, conditions).conditions;
  for (size_t i = 0; i < conditions.size(); ++i) {
    CHECK(no_query[i].token_nll == empty_query[i].token_nll);
    CHECK(max_diff(no_query[i].token_nll, with_query[i].token_nll) > 1e-3);
  }
  LoadedModel decoder_only = synthetic("llama", 0);
  CHECK_THROWS_WITH_AS(Scorer(*decoder_only.model, {.decoder_query = false}).score(counting_case(1, 2, 3), conditions),
                       doctest::Contains("leaving out the query is for encoder-decoder models"), Error);
}

// --probe on an encoder-decoder model: per layer, the answer tokens' self-attention over the
// decoder's start, query and answer, and their cross-attention over the encoder's prefix and
// document, each summing to one; truncated leaves the prefix nothing to attend to.
TEST_CASE_FIXTURE(GpuTest, "tiny-t5 probes split answer attention into self- and cross-attention shares") {
  auto path = shared_data("models/tiny-t5.gguf");
  const auto cases = read_cases("reference/tiny-t5-score-cases.jsonl");
  if (!path || cases.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  const std::vector<Condition> conditions{Condition::Full, Condition::Truncated};
  const auto probed = Scorer(*loaded.model, {.probe = true}).score(cases[0], conditions).conditions;
  const auto plain = Scorer(*loaded.model).score(cases[0], conditions).conditions;
  for (size_t i = 0; i < conditions.size(); ++i) {
    CAPTURE(i);
    CHECK(probed[i].token_nll == plain[i].token_nll);  // probing changes nothing
    REQUIRE(probed[i].attention_share.size() == 3);
    REQUIRE(probed[i].cross_attention_share.size() == 3);
    for (size_t l = 0; l < 3; ++l) {
      const auto& self = probed[i].attention_share[l];
      const auto& cross = probed[i].cross_attention_share[l];
      CHECK(self[size_t(Segment::Bos)] + self[size_t(Segment::Query)] + self[size_t(Segment::Answer)] == doctest::Approx(1.0).epsilon(1e-5));
      CHECK(self[size_t(Segment::Prefix)] + self[size_t(Segment::Document)] == 0.0);
      CHECK(cross[size_t(Segment::Prefix)] + cross[size_t(Segment::Document)] == doctest::Approx(1.0).epsilon(1e-5));
      CHECK(cross[size_t(Segment::Bos)] + cross[size_t(Segment::Query)] + cross[size_t(Segment::Answer)] == 0.0);
      if (conditions[i] == Condition::Full) CHECK(cross[size_t(Segment::Prefix)] > 0.0);
      else CHECK(cross[size_t(Segment::Prefix)] == 0.0);
    }
  }
}

TEST_SUITE_END();
