// KV-cache memory in whole models: quantized K/V against the f16 cache; context shifts against
// direct computation and against the same eviction done by hand.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>

#include "host/engine/session.h"
#include "models/load.h"
#include "models/gemma.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_SUITE_BEGIN("end_to_end");

namespace {

// The logits of decoding `tokens` one at a time, so that every step's attention reads the
// cache, with K/V stored as `types`.
std::vector<float> decode_logits(Model& model, const std::vector<int32_t>& tokens, KvTypes types) {
  Session s(model, {.context = int64_t(tokens.size()), .kv_types = types});
  std::vector<float> all;
  for (const int32_t& t : tokens) {
    const std::vector<float> row = s.decode({&t, 1});
    all.insert(all.end(), row.begin(), row.end());
  }
  return all;
}

// RMS of (a - b) over the RMS of b.
double relative_rms(const std::vector<float>& a, const std::vector<float>& b) {
  double diff = 0, norm = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    diff += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
    norm += double(b[i]) * b[i];
  }
  return std::sqrt(diff / norm);
}

std::vector<int32_t> random_tokens(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int32_t> t(n);
  for (int32_t& x : t) x = int32_t(rng() % 300);
  return t;
}

// Rows [first, first + count) of an f32 cache layer's K or V as floats.
ref::Mat f32_rows(const std::vector<uint8_t>& bytes, int64_t count) {
  ref::Mat m(count, int64_t(bytes.size() / 4) / count);
  std::memcpy(m.v.data(), bytes.data(), bytes.size());
  return m;
}

// Runs fn on tiny-qwen2 and tiny-gemma3 with the longest reference sequence of each (nothing
// where the shared data is missing).
void for_each_reference_model(const std::function<void(const std::string& name, Model&, const std::vector<int32_t>& tokens)>& fn) {
  for (const auto& [name, vocab] : {std::pair<std::string, int>{"tiny-qwen2", 50257}, {"tiny-gemma3", 512}}) {
    CAPTURE(name);
    auto path = shared_data("models/" + name + ".gguf");
    auto sequences = reference_sequences("reference/" + name + "-logits.jsonl", vocab);
    if (!path || sequences.empty()) return;
    LoadedModel loaded = load_model(gpu(), *path);
    fn(name, *loaded.model, sequences.back().tokens);
  }
}

int32_t argmax(const std::vector<float>& v) { return int32_t(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

// The bounds, in relative RMS difference from the f16 cache's logits: 1.5% with q8_0 keys
// (measured 0.73% on tiny-qwen2, 0.34% on tiny-gemma3), 15% with q4_0 keys (9.9%, 5.2%), on
// the reference's longest sequence (tiny-gemma3's runs past its window).
TEST_CASE_FIXTURE(GpuTest, "q8_0 and q4_0 caches keep tiny-qwen2's and tiny-gemma3's logits within bounds of the f16 cache's") {
  for_each_reference_model([](const std::string& name, Model& model, const std::vector<int32_t>& tokens) {
    const std::vector<float> f16 = decode_logits(model, tokens, DType::F16);
    const std::vector<std::pair<KvTypes, double>> bounds{
        {DType::Q8_0, 0.015}, {DType::Q4_0, 0.15}, {{DType::Q8_0, DType::F16}, 0.015}, {{DType::Q4_0, DType::Q8_0}, 0.15}};
    for (const auto& [types, bound] : bounds) {
      CAPTURE(types.describe());
      const double error = relative_rms(decode_logits(model, tokens, types), f16);
      MESSAGE(name << ", " << tokens.size() << " tokens: " << types.describe() << " cache, logits' relative RMS difference from f16's "
                   << error);
      CHECK(error <= bound);
    }
  });
}

// 100 successive shifts by one of a q8_0 cache, then the next token: its logits stay within the
// q8_0 bound above of an f16 cache computed directly at the shifted positions (anchored keys:
// the shifts add no error of their own).
TEST_CASE_FIXTURE(GpuTest, "after 100 shifts by one, a q8_0 cache's logits stay within the q8_0 bound of a direct f16 cache's") {
  for_each_reference_model([](const std::string& name, Model& model, const std::vector<int32_t>& all) {
    const std::vector<int32_t> prefix(all.begin(), all.end() - 1);
    const int32_t shifts = 100, n = int32_t(prefix.size());
    auto at = [](int32_t first, int32_t count) {
      PositionPlan p;
      for (int32_t i = 0; i < count; ++i) p.positions.push_back(first + i);
      return p;
    };
    const PositionPlan shifted = at(shifts, n), next = at(shifts + n, 1);
    Session direct(model, {.context = n + 1, .kv_types = DType::F16});
    direct.decode_rows(prefix, {}, &shifted);
    const std::vector<float> want = direct.decode_rows({&all.back(), 1}, std::vector<int32_t>{0}, &next);
    Session moved(model, {.context = n + 1, .kv_types = DType::Q8_0});
    const PositionPlan original = at(0, n);
    moved.decode_rows(prefix, {}, &original);
    for (int32_t i = 0; i < shifts; ++i) moved.cache().reposition(0, n, 1);
    const double error = relative_rms(moved.decode_rows({&all.back(), 1}, std::vector<int32_t>{0}, &next), want);
    MESSAGE(name << ": after " << shifts << " shifts by one, q8_0 logits' relative RMS difference from f16's " << error);
    CHECK(error <= 0.015);
  });
}

// A sequence decoded at positions d..d+N-1, its first d entries then dropped and the rest moved
// back by d, holds what decoding the same tokens at positions 0..N-1 holds in slots d..N-1: RoPE
// scores depend on distances alone, so every layer's hidden states agree, and the moved keys
// must be rotated exactly as a direct computation rotates them, each layer with its own RoPE.
TEST_CASE_FIXTURE(GpuTest, "a context shift leaves what direct computation at the shifted positions gives, every layer") {
  struct Arch {
    const char* name;
    int layers, window;
  };
  for (const Arch a : {Arch{"llama", 2, 5}, Arch{"gemma3", 6, 4}}) {  // Gemma 3: five sliding layers, one global
    CAPTURE(a.name);
    SyntheticModel m = small_model(a.name, "f32");
    m.layers = a.layers;
    m.sliding_window = a.window;
    LoadedModel loaded = load_synthetic(m);
    Model& model = *loaded.model;
    if (auto* gemma = dynamic_cast<GemmaModel*>(&model)) {
      REQUIRE(!(gemma->config().layer_rope(0) == gemma->config().layer_rope(5)));  // two RoPE bases
      REQUIRE(gemma->config().sliding_window[0] == a.window);
    }
    const int64_t n = 24, d = 7;
    const std::vector<int32_t> tokens = random_tokens(size_t(n), 11);
    Session shifted(model, {.context = n}), direct(model, {.context = n});
    PositionPlan plan;
    for (int64_t i = 0; i < n; ++i) plan.positions.push_back(int32_t(d + i));
    shifted.decode_rows(tokens, {}, &plan);
    const ContextShift shift{.sinks = 0, .keep = n - d};
    shifted.select(shift.kept_slots(n, d, n));
    shift.reposition(shifted.cache(), d);
    direct.decode(tokens);
    for (int64_t i = 0; i < n - d; ++i) REQUIRE(shifted.cache().positions()[size_t(i)] == direct.cache().positions()[size_t(d + i)]);
    for (int l = 0; l < a.layers; ++l) {
      CAPTURE(l);
      const KvCache &x = shifted.cache(), &y = direct.cache();
      CHECK(max_rel_diff(f32_rows(x.read_k(l, 0, n - d), n - d), f32_rows(y.read_k(l, d, n - d), n - d)) <= 1e-5f);
      CHECK(max_rel_diff(f32_rows(x.read_v(l, 0, n - d), n - d), f32_rows(y.read_v(l, d, n - d), n - d)) <= 1e-5f);
    }
  }
}

// A session with a context-shift policy generates far past its context; the same tokens fed to
// a session without one, whose cache is shifted by hand with select and reposition whenever it
// is full, give the same logits bit for bit, step after step.
TEST_CASE_FIXTURE(GpuTest, "generation 4x past the context with sinks and a recent window equals the eviction done by hand") {
  LoadedModel loaded = load_synthetic(small_model("llama", "f32"));
  Model& model = *loaded.model;
  const int64_t context = 16, sinks = 4, keep = 6;
  for (const KvTypes types : {KvTypes(DType::F32), KvTypes(DType::Q8_0)})
    for (const auto positions : {ContextShift::Positions::Shift, ContextShift::Positions::InCache}) {
      CAPTURE(types.describe());
      CAPTURE(int(positions));
      const ContextShift policy{.sinks = sinks, .keep = keep, .positions = positions};
      Session auto_shift(model, {.context = context, .kv_types = types, .context_shift = policy});
      Session by_hand(model, {.context = context, .kv_types = types});
      const std::vector<int32_t> prompt{1, 2, 3, 4, 5};
      std::vector<float> a = auto_shift.decode_last(prompt), b = by_hand.decode_last(prompt);
      int64_t decoded = int64_t(prompt.size());
      while (decoded < 4 * context) {
        REQUIRE(a == b);
        const int32_t next = argmax(a);
        if (int64_t(by_hand.tokens().size()) == context) {
          const int64_t held = context;
          std::vector<int64_t> kept;
          for (int64_t s = 0; s < sinks; ++s) kept.push_back(s);
          for (int64_t s = held - keep; s < held; ++s) kept.push_back(s);
          by_hand.select(kept);
          // Both conventions give a contiguous sequence here: the window goes right after the sinks.
          by_hand.cache().reposition(sinks, keep, int32_t(sinks) - by_hand.cache().positions()[size_t(sinks)]);
        }
        a = auto_shift.decode_last({&next, 1});
        b = by_hand.decode_last({&next, 1});
        ++decoded;
      }
      CHECK(a == b);
      CHECK(auto_shift.tokens() == by_hand.tokens());
      CHECK(auto_shift.shifted_tokens() == decoded - int64_t(auto_shift.tokens().size()));
      CHECK(auto_shift.shifted_tokens() >= 3 * context - sinks);
    }
}

TEST_CASE_FIXTURE(GpuTest, "a K/V budget lowers the context to what fits; without a policy, passing it is an error") {
  LoadedModel loaded = load_synthetic(small_model("llama", "f32"));
  // A token: 2 layers x (K, V) x 2 kv heads x 16 values of f32 = 512 bytes; with q8_0 keys
  // and their anchors (a context shift re-rotates them) 2 x (2 x 36 + 128) = 400.
  Session plain(*loaded.model, {.kv_budget = 512 * 20});
  CHECK(plain.context() == 20);
  CHECK(plain.cache().capacity() == 20);
  plain.decode(random_tokens(20, 3));
  CHECK_THROWS_WITH_AS(plain.decode(random_tokens(1, 4)), doctest::Contains("what the K/V budget holds"), Error);
  Session shifting(*loaded.model, {.kv_types = {DType::Q8_0, DType::F32}, .kv_budget = 400 * 20,
                                   .context_shift = ContextShift{.sinks = 2, .keep = 10}});
  CHECK(shifting.context() == 20);
  for (int32_t t : random_tokens(60, 5)) shifting.decode({&t, 1});
  CHECK(shifting.cache().bytes_per_entry() == 400);  // the anchors are allocated
  CHECK(shifting.cache().bytes_in_use() <= 400 * 20);
  CHECK_THROWS_WITH_AS(Session(*loaded.model, {.kv_budget = 1000}), doctest::Contains("too few"), Error);
}

TEST_SUITE_END();

TEST_SUITE_BEGIN("host");

TEST_CASE("context-shift settings parse, and the kept slots are the sinks and the most recent") {
  const ContextShift c = ContextShift::parse("sinks=2,keep=5,positions=cache");
  CHECK(c.sinks == 2);
  CHECK(c.keep == 5);
  CHECK(c.positions == ContextShift::Positions::InCache);
  CHECK(ContextShift::parse("keep=3").sinks == 4);
  CHECK(ContextShift::parse("").describe() == "sinks=4,keep=half,positions=shift");
  for (const char* bad : {"sinks", "sinks=-1", "keep=x", "window=3", "positions=text"})
    CHECK_THROWS_WITH_AS(ContextShift::parse(bad), doctest::Contains("--context-shift"), Error);
  CHECK(c.kept_slots(10, 1, 10) == std::vector<int64_t>{0, 1, 5, 6, 7, 8, 9});
  // keep 0: half of those after the sinks (llama.cpp's n_discard = n_left / 2).
  CHECK(ContextShift::parse("sinks=2").kept_slots(10, 1, 10) == std::vector<int64_t>{0, 1, 6, 7, 8, 9});
  // Room for the incoming tokens comes first.
  CHECK(c.kept_slots(10, 6, 10) == std::vector<int64_t>{0, 1, 8, 9});
  CHECK_THROWS_WITH_AS(c.kept_slots(10, 9, 10), doctest::Contains("do not fit beside 2 attention sinks"), Error);
}

TEST_SUITE_END();
