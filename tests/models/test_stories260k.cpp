// stories260K (a real trained llama2.c model) against llama2.c's own logits, within 1e-3 max
// abs: token by token through the KV cache, and as one prefill. Skips without ../shared/data.
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "host/npy.h"
#include "models/llama2c.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

struct Sequence {
  std::string name;
  std::vector<int32_t> tokens;
  NpyArray logits;
};

std::vector<Sequence> reference_sequences() {
  std::vector<Sequence> out;
  auto index = shared_data("reference/stories260K-logits.jsonl");
  if (!index) return out;
  std::ifstream in(*index);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    Sequence s{j["name"], j["tokens"].get<std::vector<int32_t>>(), {}};
    s.logits = read_npy_f32(std::filesystem::path(*index).parent_path() / j["logits"].get<std::string>());
    REQUIRE(s.logits.shape == std::vector<int64_t>{int64_t(s.tokens.size()), 512});
    out.push_back(std::move(s));
  }
  return out;
}

float max_abs(const std::vector<float>& a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

std::vector<int32_t> positions(size_t n) {
  std::vector<int32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = int32_t(i);
  return p;
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "stories260K matches llama2.c token by token through the KV cache") {
  auto path = shared_data("models/stories260K.bin");
  auto sequences = reference_sequences();
  if (!path || sequences.empty()) return;
  auto model = load_llama2c(gpu(), *path);
  CHECK(model->config().vocab == 512);
  for (auto& s : sequences) {
    CAPTURE(s.name);
    KvCache cache(gpu(), model->cache_config(int64_t(s.tokens.size())));
    float worst = 0;
    for (size_t i = 0; i < s.tokens.size(); ++i) {
      auto logits = model->forward(cache, {&s.tokens[i], 1}, std::vector<int32_t>{int32_t(i)});
      worst = std::max(worst, max_abs(logits, s.logits.data.data() + i * 512, 512));
    }
    MESSAGE(s.name << ": max abs error " << worst);
    CHECK(worst <= 1e-3f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "stories260K prefill matches llama2.c and repeats bit for bit") {
  auto path = shared_data("models/stories260K.bin");
  auto sequences = reference_sequences();
  if (!path || sequences.empty()) return;
  auto model = load_llama2c(gpu(), *path);
  for (auto& s : sequences) {
    CAPTURE(s.name);
    std::vector<float> first;
    for (int run = 0; run < 3; ++run) {
      KvCache cache(gpu(), model->cache_config(int64_t(s.tokens.size())));
      auto logits = model->forward(cache, s.tokens, positions(s.tokens.size()));
      CHECK(max_abs(logits, s.logits.data.data(), logits.size()) <= 1e-3f);
      if (run == 0)
        first = logits;
      else
        CHECK(logits == first);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "bad model inputs are clear errors") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  KvCache cache(gpu(), model->cache_config(4));
  const std::vector<int32_t> one{1};
  CHECK_THROWS_WITH_AS(model->forward(cache, std::vector<int32_t>{512}, std::vector<int32_t>{0}),
                       doctest::Contains("token id 512 is out of range"), Error);
  CHECK_THROWS_WITH_AS(model->forward(cache, one, std::vector<int32_t>{512}), doctest::Contains("outside the model's context"), Error);
  model->forward(cache, std::vector<int32_t>{1, 2, 3, 4}, positions(4));
  CHECK_THROWS_WITH_AS(model->forward(cache, one, std::vector<int32_t>{4}), doctest::Contains("overflow"), Error);
  KvCache other(gpu(), model->cache_config(8));
  model->forward(other, one, std::vector<int32_t>{3});
  CHECK_THROWS_WITH_AS(model->forward(other, one, std::vector<int32_t>{3}), doctest::Contains("already cached"), Error);

  // A truncated checkpoint names the file and the problem.
  const auto cut = std::filesystem::temp_directory_path() / "vkllm-truncated.bin";
  std::filesystem::copy_file(*path, cut, std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(cut, 100000);
  CHECK_THROWS_WITH_AS(load_llama2c(gpu(), cut.string()), doctest::Contains("truncated or not a llama2.c file"), Error);
  std::filesystem::remove(cut);
}

TEST_CASE_FIXTURE(GpuTest, "one model serves several caches in turn, and caches created later at the same address") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  const std::vector<int32_t> prompt{1, 306, 461, 465}, other{1, 354, 458, 461};
  std::vector<float> want_a, want_b;
  {
    KvCache a(gpu(), model->cache_config(8)), b(gpu(), model->cache_config(8));
    model->forward(a, prompt, positions(4));
    model->forward(b, other, positions(4));
    want_a = model->forward(a, std::vector<int32_t>{466}, std::vector<int32_t>{4});  // alternate
    want_b = model->forward(b, std::vector<int32_t>{466}, std::vector<int32_t>{4});
  }
  for (int round = 0; round < 2; ++round) {  // fresh caches, possibly at the old addresses
    KvCache a(gpu(), model->cache_config(8));
    model->forward(a, prompt, positions(4));
    CHECK(model->forward(a, std::vector<int32_t>{466}, std::vector<int32_t>{4}) == want_a);
    KvCache b(gpu(), model->cache_config(8));
    model->forward(b, other, positions(4));
    CHECK(model->forward(b, std::vector<int32_t>{466}, std::vector<int32_t>{4}) == want_b);
  }
  CHECK(want_a != want_b);
}
