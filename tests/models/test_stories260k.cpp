// stories260K (a real trained llama2.c model) against llama2.c's own logits, within 1e-3 max
// abs: token by token through the KV cache, and as one prefill. Skips without ../shared/data.
#include <filesystem>
#include <fstream>

#include "models/llama2c.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;


TEST_CASE_FIXTURE(GpuTest, "stories260K matches llama2.c token by token through the KV cache, and in one prefill") {
  auto path = shared_data("models/stories260K.bin");
  auto sequences = reference_sequences("reference/stories260K-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  auto model = load_llama2c(gpu(), *path);
  for (auto& s : sequences) {
    CAPTURE(s.name);
    const float decode = max_error_decode(*model, s), prefill = max_error_prefill(*model, s);
    MESSAGE(s.name << ": max abs error " << decode << " decoding, " << prefill << " in one prefill");
    CHECK(decode <= 1e-3f);
    CHECK(prefill <= 1e-3f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "stories260K logits repeat bit for bit") {
  auto path = shared_data("models/stories260K.bin");
  if (!path) return;
  auto model = load_llama2c(gpu(), *path);
  const std::vector<int32_t> tokens{1, 306, 461, 465, 466, 266, 435, 234};
  std::vector<float> first;
  for (int run = 0; run < 3; ++run) {
    KvCache cache(gpu(), model->cache_config(8));
    auto logits = model->forward(cache, tokens, iota_positions(8));
    if (run == 0)
      first = logits;
    else
      CHECK(logits == first);
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
  model->forward(cache, std::vector<int32_t>{1, 2, 3, 4}, iota_positions(4));
  CHECK_THROWS_WITH_AS(model->forward(cache, one, std::vector<int32_t>{4}), doctest::Contains("overflow"), Error);
  KvCache other(gpu(), model->cache_config(8));
  model->forward(other, one, std::vector<int32_t>{3});
  CHECK_THROWS_WITH_AS(model->forward(other, one, std::vector<int32_t>{3}), doctest::Contains("already cached"), Error);

  // A truncated checkpoint names the file and the problem.
  const auto cut = std::filesystem::path(temp_path("truncated.bin"));
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
    model->forward(a, prompt, iota_positions(4));
    model->forward(b, other, iota_positions(4));
    want_a = model->forward(a, std::vector<int32_t>{466}, std::vector<int32_t>{4});  // alternate
    want_b = model->forward(b, std::vector<int32_t>{466}, std::vector<int32_t>{4});
  }
  for (int round = 0; round < 2; ++round) {  // fresh caches, possibly at the old addresses
    KvCache a(gpu(), model->cache_config(8));
    model->forward(a, prompt, iota_positions(4));
    CHECK(model->forward(a, std::vector<int32_t>{466}, std::vector<int32_t>{4}) == want_a);
    KvCache b(gpu(), model->cache_config(8));
    model->forward(b, other, iota_positions(4));
    CHECK(model->forward(b, std::vector<int32_t>{466}, std::vector<int32_t>{4}) == want_b);
  }
  CHECK(want_a != want_b);
}

TEST_CASE_FIXTURE(GpuTest, "a llama2.c checkpoint with its own classifier loads with or without the legacy RoPE tables") {
  // dim 32, hidden 64, 1 layer, 2 heads, 2 kv heads, 40 tokens with a separate classifier
  // (negative vocab_size), context 8; the same weights written both ways.
  const int32_t header[7] = {32, 64, 1, 2, 2, -40, 8};
  const int64_t d = 32, f = 64, v = 40, tables = 8 * (32 / 2);
  const int64_t body = v * d + d + 4 * d * d + d + 3 * f * d + d;  // embedding .. final norm
  const std::vector<float> weights = random_mat(1, body, 5).v, classifier = random_mat(1, v * d, 6).v;
  std::vector<std::unique_ptr<LlamaModel>> models;
  for (bool with_tables : {true, false}) {
    TempFile file(with_tables ? "l2c-tables.bin" : "l2c-bare.bin");
    std::ofstream out(file.path, std::ios::binary);
    out.write(reinterpret_cast<const char*>(header), sizeof header);
    out.write(reinterpret_cast<const char*>(weights.data()), std::streamsize(weights.size() * 4));
    const std::vector<float> rope(size_t(with_tables ? tables : 0), 0.5f);
    out.write(reinterpret_cast<const char*>(rope.data()), std::streamsize(rope.size() * 4));
    out.write(reinterpret_cast<const char*>(classifier.data()), std::streamsize(classifier.size() * 4));
    out.close();
    models.push_back(load_llama2c(gpu(), file.path));
  }
  const std::vector<int32_t> tokens{1, 7, 30};
  const std::vector<int32_t> positions{0, 1, 2};
  std::vector<std::vector<float>> logits;
  for (auto& m : models) {
    KvCache cache(gpu(), m->cache_config(8));
    logits.push_back(m->forward(cache, tokens, positions));
  }
  CHECK(logits[0] == logits[1]);  // the classifier read from the same bytes both times
}
