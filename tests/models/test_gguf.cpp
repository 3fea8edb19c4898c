// GGUF: the shared files parse; corrupt files give errors naming the file and the field; the
// tiny Qwen2 model loads and runs consistently.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "models/gguf.h"
#include "models/gguf_model.h"
#include "tests/models/synthetic.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

// Builds a small GGUF file byte by byte: one string and one u32 metadata value and one F32 tensor.
struct GgufBuilder {
  std::string bytes;
  template <class T>
  void put(T v) {
    bytes.append(reinterpret_cast<const char*>(&v), sizeof v);
  }
  void str(const std::string& s) {
    put<uint64_t>(s.size());
    bytes += s;
  }
  std::string build(uint32_t version = 3, uint64_t data_floats = 8) {
    bytes = "GGUF";
    put<uint32_t>(version);
    put<uint64_t>(1);  // tensors
    put<uint64_t>(2);  // metadata
    str("general.architecture");
    put<uint32_t>(8);
    str("llama");
    str("llama.block_count");
    put<uint32_t>(4);
    put<uint32_t>(1);
    str("w");
    put<uint32_t>(2);
    put<uint64_t>(4);
    put<uint64_t>(2);
    put<uint32_t>(0);  // F32
    put<uint64_t>(0);
    bytes.append((32 - bytes.size() % 32) % 32, '\0');
    for (uint64_t i = 0; i < data_floats; ++i) put<float>(float(i));
    return bytes;
  }
};

std::string write_temp(const std::string& bytes, const char* name) {
  const auto path = temp_path(name);
  std::ofstream(path, std::ios::binary) << bytes;
  return path;
}

}  // namespace

TEST_CASE("a well-formed GGUF file parses: metadata, tensor directory, data") {
  GgufBuilder b;
  const auto path = write_temp(b.build(), "vkllm-ok.gguf");
  GgufFile f(path);
  CHECK(f.version() == 3);
  CHECK(f.get_string("general.architecture") == "llama");
  CHECK(f.get_uint("llama.block_count") == 1);
  const GgufTensor& t = f.tensor("w");
  CHECK(t.dims == std::vector<uint64_t>{4, 2});
  float v[8];
  std::memcpy(v, t.data, sizeof v);
  CHECK(v[7] == 7.0f);
  CHECK_THROWS_WITH_AS(f.get_string("llama.block_count"), doctest::Contains("'llama.block_count' is not a string"), Error);
  CHECK_THROWS_WITH_AS(f.tensor("missing"), doctest::Contains("tensor 'missing' is missing"), Error);
  std::filesystem::remove(path);
}

TEST_CASE("corrupt GGUF files give errors naming the file and the problem") {
  GgufBuilder b;
  const std::string good = b.build();
  struct Case {
    std::string bytes, expect;
  };
  std::string bad_magic = good, bad_version = good, bad_type = good;
  bad_magic[0] = 'X';
  bad_version[4] = 9;
  // The metadata value type of the first key sits right after the key.
  bad_type[24 + 8 + std::strlen("general.architecture")] = 77;
  const std::vector<Case> cases = {
      {bad_magic, "wrong magic"},
      {bad_version, "GGUF version 9 is not supported"},
      {bad_type, "unknown value type 77"},
      {good.substr(0, 40), "truncated while reading"},
      {GgufBuilder().build(3, 4), "lies past the end of the file"},
  };
  for (auto& c : cases) {
    CAPTURE(c.expect);
    const auto path = write_temp(c.bytes, "vkllm-bad.gguf");
    CHECK_THROWS_WITH_AS(GgufFile{path}, doctest::Contains(c.expect.c_str()), Error);
    CHECK_THROWS_WITH_AS(GgufFile{path}, doctest::Contains("bad.gguf"), Error);
    std::filesystem::remove(path);
  }
}

TEST_CASE("the shared GGUF files parse") {
  for (const char* rel : {"tokenizers/ggml-vocab-llama-spm.gguf", "tokenizers/ggml-vocab-gpt-2.gguf", "models/tiny-qwen2.gguf",
                          "models/tiny-gpt2.gguf"}) {
    auto path = shared_data(rel);
    if (!path) continue;
    CAPTURE(rel);
    GgufFile f(*path);
    CHECK(f.has("tokenizer.ggml.model"));
    CHECK(f.get_array("tokenizer.ggml.tokens").size() > 0);
  }
}

TEST_CASE_FIXTURE(GpuTest, "tiny-qwen2 (half-split RoPE, q/k/v biases, GQA) matches the host reference and llama.cpp") {
  auto path = shared_data("models/tiny-qwen2.gguf");
  auto sequences = reference_sequences("reference/tiny-qwen2-logits.jsonl", 50257);
  if (!path || sequences.empty()) return;
  GgufFile file(*path);
  auto model = load_llama_gguf(gpu(), file);
  CHECK(model->config().rope.pairing == RopePairing::HalfSplit);
  CHECK(model->config().n_kv_heads == 2);
  check_against_llama_cpp(*model, sequences, [&](const std::vector<int32_t>& tokens) {
    return host_llama_logits(file, model->config(), tokens);
  });
}

TEST_CASE_FIXTURE(GpuTest, "a GGUF model of another architecture is refused by name") {
  auto path = shared_data("models/tiny-gpt2.gguf");
  if (!path) return;
  GgufFile file(*path);
  CHECK_THROWS_WITH_AS(load_llama_gguf(gpu(), file), doctest::Contains("architecture 'gpt2'"), Error);
}

// rope_freqs.weight (Llama 3.1) reaches the model's RoPE: factors of 1 change nothing, others
// change the logits; a factor list of the wrong length is refused by name.
TEST_CASE_FIXTURE(GpuTest, "a GGUF's RoPE frequency factors are applied") {
  SyntheticModel m = small_model();
  const std::vector<int32_t> tokens{1, 50, 60, 70, 80, 90, 100, 110};
  auto logits_with = [&](std::vector<float> factors) {
    m.rope_freq_factors = std::move(factors);
    const auto path = temp_path("rope-freqs.gguf");
    make_model(m, path);
    GgufFile file(path);
    auto model = load_llama_gguf(gpu(), file);
    CHECK(model->config().rope.freq_factors == std::vector<double>(m.rope_freq_factors.begin(), m.rope_freq_factors.end()));
    KvCache cache(gpu(), model->cache_config(16));
    auto out = model->forward(cache, tokens, iota_positions(tokens.size()));
    std::filesystem::remove(path);
    return out;
  };
  const auto none = logits_with({});
  CHECK(logits_with(std::vector<float>(8, 1.0f)) == none);
  CHECK(max_abs_diff(logits_with({1, 1, 1, 2, 4, 8, 8, 8}), none) > 1e-4f);
  m.rope_freq_factors.assign(7, 1.0f);
  const auto path = temp_path("rope-freqs-bad.gguf");
  make_model(m, path);
  GgufFile file(path);
  CHECK_THROWS_WITH_AS(load_llama_gguf(gpu(), file), doctest::Contains("rope_freqs.weight must be 8 F32 values"), Error);
  std::filesystem::remove(path);
}
