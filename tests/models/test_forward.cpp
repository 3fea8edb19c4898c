// Forward passes: a batch says which rows produce logits (only those go through the final norm
// and the LM head, each bit for bit what it gives when every row outputs), and the memory of
// recorded passes stays bounded however many distinct token counts arrive.
#include <cstring>
#include <filesystem>

#include "host/engine/session.h"
#include "tests/models/synthetic.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

bool same_bits(const float* a, const float* b, size_t n) { return std::memcmp(a, b, n * sizeof(float)) == 0; }

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "output rows give bit for bit the logits of those rows among all rows") {
  for (const std::string arch : {"llama", "gpt2", "chatglm6b"})
    for (const std::string type : {"f16", "q8_0"}) {
      CAPTURE(arch);
      CAPTURE(type);
      LoadedModel loaded = load_synthetic(small_model(arch, type));
      Model& model = *loaded.model;
      const size_t vocab = size_t(model.vocab());
      std::vector<int32_t> tokens;
      for (int i = 0; i < 13; ++i) tokens.push_back(3 + 17 * i % 290);
      if (arch == "chatglm6b") tokens.insert(tokens.end(), {298, 299});  // [gMASK] BOS
      const int32_t n = int32_t(tokens.size());
      const PositionPlan plan = model.plan_positions({}, tokens);
      auto run = [&](std::optional<std::span<const int32_t>> outputs, KvCache& cache) {
        ForwardExtras extras = plan.extras();
        extras.outputs = outputs;
        return model.forward(cache, tokens, plan.positions, extras);
      };
      KvCache all_cache(gpu(), model.cache_config(n));
      const auto all = run(std::nullopt, all_cache);
      REQUIRE(all.size() == size_t(n) * vocab);
      for (const std::vector<int32_t>& rows :
           {std::vector<int32_t>{n - 1}, std::vector<int32_t>{0, 5, n - 1}, std::vector<int32_t>{n - 1, 0, 7, 7},
            std::vector<int32_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}}) {
        KvCache cache(gpu(), model.cache_config(n));
        const auto some = run(rows, cache);
        REQUIRE(some.size() == rows.size() * vocab);
        for (size_t i = 0; i < rows.size(); ++i) {
          CAPTURE(rows[i]);
          CHECK(same_bits(some.data() + i * vocab, all.data() + size_t(rows[i]) * vocab, vocab));
        }
      }
      // No output rows: the cache fills, nothing is computed for logits.
      KvCache silent(gpu(), model.cache_config(n));
      CHECK(run(std::span<const int32_t>(), silent).empty());
      CHECK(silent.size() == n);
      CHECK(silent.read_k(1, 0, n) == all_cache.read_k(1, 0, n));
      CHECK(silent.read_v(1, 0, n) == all_cache.read_v(1, 0, n));
      // A row outside the batch is refused and leaves the cache as it was.
      KvCache refused(gpu(), model.cache_config(n));
      const std::vector<int32_t> bad{n};
      const std::string message = "output row " + std::to_string(n) + " is not in the batch of " + std::to_string(n) + " tokens";
      CHECK_THROWS_WITH_AS(run(bad, refused), doctest::Contains(message.c_str()), Error);
      CHECK(refused.size() == 0);
    }
}

TEST_CASE_FIXTURE(GpuTest, "a session's last-row decode equals the last row of a full decode, cached or not") {
  LoadedModel loaded = load_synthetic(small_model("llama", "f16"));
  const std::vector<int32_t> prompt{1, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49};
  const size_t vocab = size_t(loaded.model->vocab());
  for (const bool use_cache : {true, false}) {
    CAPTURE(use_cache);
    Session full(*loaded.model, {.context = 32, .use_cache = use_cache}), last(*loaded.model, {.context = 32, .use_cache = use_cache});
    const auto all_rows = full.decode(prompt);
    const auto last_row = last.decode_last(prompt);
    REQUIRE(last_row.size() == vocab);
    CHECK(same_bits(last_row.data(), all_rows.data() + all_rows.size() - vocab, vocab));
    const int32_t next = 77;
    const auto a = full.decode({&next, 1}), b = last.decode_last({&next, 1});
    CHECK(same_bits(a.data(), b.data(), vocab));
  }
}

TEST_CASE_FIXTURE(GpuTest, "forward passes at 50 distinct token counts keep device memory under a fixed bound") {
  LoadedModel loaded = load_synthetic(small_model("llama", "f16"));
  Model& model = *loaded.model;
  KvCache cache(gpu(), model.cache_config(64));
  auto pass = [&](int n, bool all_rows) {
    cache.clear();
    std::vector<int32_t> tokens, positions, last{n - 1};
    for (int i = 0; i < n; ++i) tokens.push_back(5 + i), positions.push_back(i);
    ForwardExtras extras;
    if (!all_rows) extras.outputs = last;
    return model.forward(cache, tokens, positions, extras);
  };
  pass(50, true);  // the largest batch first: the shared working memory reaches its size
  const uint64_t after_largest = gpu().allocator().bytes_in_use();
  uint64_t peak = after_largest;
  for (int n = 1; n <= 50; ++n) {
    pass(n, n % 2 == 0);
    peak = std::max(peak, gpu().allocator().bytes_in_use());
  }
  // Beyond the shared memory: each kept step's inputs (tokens, positions, output rows), a few
  // hundred bytes each, for at most 32 steps. With working memory per step it peaked 3.6 MB higher.
  MESSAGE("device memory after the largest pass " << after_largest << " bytes, peak over 50 counts " << peak);
  CHECK(peak <= after_largest + 64 * 1024);
  // Results do not depend on what was recorded before: the same pass again is bit for bit equal.
  const auto first = pass(37, true);
  for (int n = 60; n > 50; --n) pass(std::min(n, 64), false);
  CHECK(pass(37, true) == first);
}

// Every device type: the step's inputs and logits live in mapped memory and the cache writes its
// positions on the device, so a decode step is its graph's one submission, with nothing allocated.
TEST_CASE_FIXTURE(GpuTest, "a decode step is one queue submission and no allocation, with or without staging buffers") {
  for (const bool staging : {false, true}) {
    CAPTURE(staging);
    std::unique_ptr<Device> own = staging ? open_device_with({{"VKLLM_FORCE_STAGING", "1"}}) : nullptr;
    Device& d = staging ? *own : gpu();
    if (staging) REQUIRE_FALSE(d.caps().unified_memory);
    LoadedModel loaded = load_synthetic(small_model("llama", "q8_0"), d);
    Session session(*loaded.model, {.context = 16});
    const std::vector<int32_t> prompt{1, 20, 21, 22};
    session.decode_last(prompt);
    const int32_t first = 23, second = 24;
    const auto recorded = session.decode_last({&first, 1});  // records the one-token step
    const uint64_t submissions = d.submissions(), allocations = d.allocator().allocations();
    const auto logits = session.decode_last({&second, 1});
    CHECK(d.submissions() - submissions == 1);
    CHECK(d.allocator().allocations() - allocations == 0);
    CHECK(logits.size() == recorded.size());
    CHECK(logits != recorded);  // the step saw its new token and position
    if (own) check_no_validation_messages(*own);
  }
}

TEST_CASE_FIXTURE(GpuTest, "a batch over several sequences gives each sequence what it gets decoded alone") {
  for (const std::string arch : {"llama", "gemma3", "gpt2"})
    for (const std::string type : {"f32", "q8_0"}) {
      CAPTURE(arch);
      CAPTURE(type);
      LoadedModel loaded = load_synthetic(small_model(arch, type));
      Model& model = *loaded.model;
      REQUIRE(model.batches_sequences());
      const size_t vocab = size_t(model.vocab());
      // Three sequences already holding different lengths; the batch prefills one and
      // decodes one token in each of the others.
      const std::vector<std::vector<int32_t>> held = {{1, 5, 9}, {2, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49}, {7}};
      const std::vector<std::vector<int32_t>> added = {{11}, {12, 13, 14, 15, 16}, {17}};
      std::vector<std::unique_ptr<Session>> batched, alone;
      for (size_t i = 0; i < held.size(); ++i)
        for (auto* list : {&batched, &alone}) {
          list->push_back(std::make_unique<Session>(model, SessionOptions{.context = 32}));
          list->back()->decode(held[i]);
        }
      std::vector<Session*> sessions;
      for (auto& s : batched) sessions.push_back(s.get());
      const auto logits = Session::decode_batch(sessions, added);
      REQUIRE(logits.size() == held.size());
      for (size_t i = 0; i < held.size(); ++i) {
        CAPTURE(i);
        const std::vector<float> want = alone[i]->decode_last(added[i]);
        REQUIRE(logits[i].size() == vocab);
        CHECK(max_abs_diff(logits[i], want) <= 1e-4f);
        CHECK(batched[i]->tokens() == alone[i]->tokens());
        CHECK(std::vector<int32_t>(batched[i]->cache().positions().begin(), batched[i]->cache().positions().end()) ==
              std::vector<int32_t>(alone[i]->cache().positions().begin(), alone[i]->cache().positions().end()));
      }
      // A bad token in one sequence: the batch is refused and no cache changes.
      const std::vector<std::vector<int32_t>> bad = {{3}, {int32_t(vocab)}, {4}};
      CHECK_THROWS_WITH_AS(Session::decode_batch(sessions, bad), doctest::Contains("out of range"), Error);
      for (size_t i = 0; i < held.size(); ++i) CHECK(batched[i]->cache().size() == alone[i]->cache().size());
      std::vector<SequenceRows> twice(2, SequenceRows{&batched[0]->cache(), added[0], added[0]});
      CHECK_THROWS_WITH_AS(model.forward_batch(twice), doctest::Contains("each sequence once"), Error);
    }
  LoadedModel glm = load_synthetic(small_model("chatglm6b", "f32"));
  CHECK_FALSE(glm.model->batches_sequences());
}
