// GGUF: the shared files parse; corrupt files give errors naming the file and the field; the
// tiny Qwen2 model loads and runs consistently.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>

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
  // `dims` of tensor "w" at offset 0; a second tensor "v" of 4 floats at `second_offset`, if given.
  std::string build(uint32_t version = 3, uint64_t data_floats = 8, std::vector<uint64_t> dims = {4, 2},
                    std::optional<uint64_t> second_offset = std::nullopt, const std::string& second_name = "v") {
    bytes = "GGUF";
    put<uint32_t>(version);
    put<uint64_t>(second_offset ? 2 : 1);  // tensors
    put<uint64_t>(2);                      // metadata
    str("general.architecture");
    put<uint32_t>(8);
    str("llama");
    str("llama.block_count");
    put<uint32_t>(4);
    put<uint32_t>(1);
    auto tensor = [&](const std::string& name, const std::vector<uint64_t>& shape, uint64_t offset) {
      str(name);
      put<uint32_t>(uint32_t(shape.size()));
      for (uint64_t d : shape) put<uint64_t>(d);
      put<uint32_t>(0);  // F32
      put<uint64_t>(offset);
    };
    tensor("w", dims, 0);
    if (second_offset) tensor(second_name, {4}, *second_offset);
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
  std::string bad_magic = good, bad_version = good, bad_type = good, huge_string = good;
  bad_magic[0] = 'X';
  bad_version[4] = 9;
  const uint64_t length = uint64_t(1) << 63;  // of the first key
  std::memcpy(huge_string.data() + 24, &length, 8);
  // The metadata value type of the first key sits right after the key.
  bad_type[24 + 8 + std::strlen("general.architecture")] = 77;
  const std::vector<Case> cases = {
      {bad_magic, "wrong magic"},
      {bad_version, "GGUF version 9 is not supported"},
      {bad_type, "unknown value type 77"},
      {good.substr(0, 40), "truncated while reading"},
      {huge_string, "truncated while reading metadata key"},
      {GgufBuilder().build(3, 4), "lies past the end of the file"},
      {GgufBuilder().build(3, 8, {1ull << 40, 1ull << 40}), "tensor 'w' has dimensions whose product overflows 64 bits"},
      {GgufBuilder().build(3, 8, {1ull << 41, 1}), "tensor 'w' has dimension 2199023255552"},
      {GgufBuilder().build(3, 64, {4, 2}, 0), "tensors 'w' and 'v' overlap"},
      {GgufBuilder().build(3, 64, {4, 2}, 32, "w"), "tensor 'w' appears twice"},
  };
  for (auto& c : cases) {
    CAPTURE(c.expect);
    const auto path = write_temp(c.bytes, "vkllm-bad.gguf");
    CHECK_THROWS_WITH_AS(GgufFile{path}, doctest::Contains(c.expect.c_str()), Error);
    CHECK_THROWS_WITH_AS(GgufFile{path}, doctest::Contains("bad.gguf"), Error);
    std::filesystem::remove(path);
  }
  // Cut at every byte before the tensor data: each section boundary and everything between.
  const size_t data_start = good.size() - 8 * sizeof(float);
  for (size_t n = 0; n < data_start; ++n) {
    CAPTURE(n);
    const auto path = write_temp(good.substr(0, n), "vkllm-cut.gguf");
    CHECK_THROWS_AS(GgufFile{path}, Error);
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
