#include "tests/models/reference.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "runtime/kv_cache.h"
#include "tests/test_util.h"

namespace vkllm::test {

std::vector<ReferenceSequence> reference_sequences(const std::string& jsonl, int64_t vocab) {
  std::vector<ReferenceSequence> out;
  auto index = shared_data(jsonl);
  if (!index) return out;
  std::ifstream in(*index);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    ReferenceSequence s{j["name"], j["tokens"].get<std::vector<int32_t>>(), {}};
    s.logits = read_npy_f32(std::filesystem::path(*index).parent_path() / j["logits"].get<std::string>());
    REQUIRE(s.logits.shape == std::vector<int64_t>{int64_t(s.tokens.size()), vocab});
    out.push_back(std::move(s));
  }
  return out;
}

std::vector<int32_t> iota_positions(size_t n) {
  std::vector<int32_t> p(n);
  for (size_t i = 0; i < n; ++i) p[i] = int32_t(i);
  return p;
}

namespace {
float max_abs(const std::vector<float>& a, const float* b) {
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}
}  // namespace

float max_error_decode(LlamaModel& model, const ReferenceSequence& s) {
  const size_t vocab = size_t(model.config().vocab);
  KvCache cache(model.device(), model.cache_config(int64_t(s.tokens.size())));
  float worst = 0;
  for (size_t i = 0; i < s.tokens.size(); ++i)
    worst = std::max(worst, max_abs(model.forward(cache, {&s.tokens[i], 1}, std::vector<int32_t>{int32_t(i)}),
                                     s.logits.data.data() + i * vocab));
  return worst;
}

float max_error_prefill(LlamaModel& model, const ReferenceSequence& s) {
  KvCache cache(model.device(), model.cache_config(int64_t(s.tokens.size())));
  return max_abs(model.forward(cache, s.tokens, iota_positions(s.tokens.size())), s.logits.data.data());
}

}  // namespace vkllm::test
