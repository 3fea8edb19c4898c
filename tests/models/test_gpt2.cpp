// GPT-2: learned positions, LayerNorm with bias, fused q/k/v, GELU; llama.cpp's tiny-gpt2
// logits; no rotary embedding, so the cache refuses reposition but selects and appends.
#include "models/gguf.h"
#include "models/gguf_model.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "tiny-gpt2 matches the host reference and llama.cpp") {
  auto path = shared_data("models/tiny-gpt2.gguf");
  auto sequences = reference_sequences("reference/tiny-gpt2-logits.jsonl", 50257);
  if (!path || sequences.empty()) return;
  GgufFile file(*path);
  auto model = load_gpt2_gguf(gpu(), file);
  CHECK(model->arch() == "gpt2");
  CHECK_FALSE(model->cache_config(1).rope);
  check_against_llama_cpp(*model, sequences, [&](const std::vector<int32_t>& tokens) {
    return host_gpt2_logits(file, model->config(), tokens);
  });
}

TEST_CASE_FIXTURE(GpuTest, "a GPT-2 cache selects and appends, and refuses reposition by name") {
  auto path = shared_data("models/tiny-gpt2.gguf");
  if (!path) return;
  GgufFile file(*path);
  auto model = load_gpt2_gguf(gpu(), file);
  const std::vector<int32_t> tokens{464, 2068, 7586, 21831, 18045, 625};
  // Keeping the first three entries of five and appending at position 3 gives what a cache
  // that only ever held those three computes (the values of kept tokens never saw the others).
  KvCache full(gpu(), model->cache_config(8));
  model->forward(full, std::vector<int32_t>(tokens.begin(), tokens.end() - 1), iota_positions(5));
  full.select(std::vector<int64_t>{0, 1, 2});
  const auto after_select = model->forward(full, std::vector<int32_t>{tokens[5]}, std::vector<int32_t>{3});
  KvCache direct(gpu(), model->cache_config(8));
  model->forward(direct, std::vector<int32_t>(tokens.begin(), tokens.begin() + 3), iota_positions(3));
  const auto expected = model->forward(direct, std::vector<int32_t>{tokens[5]}, std::vector<int32_t>{3});
  CHECK(max_abs_diff(after_select, expected) <= 1e-5f);
  CHECK_THROWS_WITH_AS(full.reposition(0, 2, -3), doctest::Contains("reposition needs rotary position embeddings"), Error);
}
