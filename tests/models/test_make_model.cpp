// make-model writes standard GGUF that loads and runs; `vkllm bench --json` reports the fields
// scripts rely on.
#include <array>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "models/gguf.h"
#include "host/engine/session.h"
#include "models/load.h"
#include "models/gemma.h"
#include "models/make_model.h"
#include "runtime/env.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;


TEST_CASE_FIXTURE(GpuTest, "make-model writes GGUF that reads back, loads and runs: every decoder-only architecture, f16 and q8_0") {
  for (const char* arch : {"llama", "qwen2", "gpt2", "chatglm6b", "gemma2", "gemma3"})
    for (const char* type : {"f16", "q8_0"}) {
      CAPTURE(arch);
      CAPTURE(type);
      const auto path = temp_path(std::string("synth-") + arch + "-" + type + ".gguf");
      SyntheticModel m = small_model(arch, type);
      const bool biased_blocks = std::string(arch) == "gpt2" || std::string(arch) == "chatglm6b";
      make_model(m, path);
      {
        GgufFile file(path);
        CHECK(file.get_string("general.architecture") == arch);
        CHECK(file.get_uint(std::string(arch) + ".attention.head_count_kv") == (biased_blocks ? 4 : 2));
        CHECK(file.get_array("tokenizer.ggml.tokens").size() == 300);
        CHECK(file.tensor("blk.1.ffn_down.weight").type == uint32_t(std::string(type) == "f16" ? GgmlType::F16 : GgmlType::Q8_0));
        CHECK((file.find("blk.0.attn_k.bias") != nullptr) == (std::string(arch) == "qwen2"));
      }
      Device& dev = gpu();
      LoadedModel loaded = load_model(dev, path);
      REQUIRE(loaded.tokenizer);
      const auto ids = loaded.tokenizer->encode("hello world", false);
      CHECK(loaded.tokenizer->decode(ids) == (std::string(arch) == "llama" || std::string(arch) == "chatglm6b" ? " hello world" : "hello world"));
      if (std::string(arch).starts_with("gemma")) {
        const auto& c = dynamic_cast<GemmaModel&>(*loaded.model).config();
        CHECK(c.head_dim == 32);
        CHECK(c.sliding_window == (std::string(arch) == "gemma2" ? std::vector<int>{8, 0} : std::vector<int>{8, 8}));
        CHECK(c.attn_softcap == (std::string(arch) == "gemma2" ? 50.0f : 0.0f));
        CHECK(c.qk_norm == (std::string(arch) == "gemma3"));
        CHECK(loaded.tokenizer->vocab().bos == 2);
        CHECK(!GgufFile(path).find("output.weight"));  // tied
      }
      // Through a session, so each architecture places the tokens its own way.
      Session session(*loaded.model, {.context = 8});
      const std::vector<int32_t> prompt = std::string(arch) == "chatglm6b" ? std::vector<int32_t>{17, 298, 299} : std::vector<int32_t>{1, 17, 299};
      const auto logits = session.decode(prompt);
      CHECK(logits.size() == 3 * 300);
      for (float v : logits) REQUIRE(std::isfinite(v));
      std::filesystem::remove(path);
    }
  SyntheticModel bad = small_model("llama", "q4_k");
  CHECK_THROWS_WITH_AS(make_model(bad, temp_path("never.gguf")), doctest::Contains("type must be f32, f16, q8_0, q4_0, q4_k_m"), Error);
  bad = small_model("llama", "q4_k_m");
  CHECK_THROWS_WITH_AS(make_model(bad, temp_path("never.gguf")), doctest::Contains("multiples of 256"), Error);
  bad = small_model("bert");
  CHECK_THROWS_WITH_AS(make_model(bad, temp_path("never.gguf")), doctest::Contains("architecture 'bert' is not supported"), Error);
}

TEST_CASE("vkllm bench --json reports prompt and generation speed with their spread") {
  const auto path = temp_path("bench-model.gguf");
  make_model(small_model("llama", "q8_0"), path);
  const std::string cmd =
      std::string(VKLLM_CLI) + " bench -m " + path + " -p 8 -n 4 -r 2 --cache-type-k f32 --cache-type-v q8_0 --json 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    CHECK(pclose(p) == 0);
  }
  for (const char* key : {"\"pp_tps\"", "\"tg_tps\"", "\"pp_tps_sd\"", "\"tg_tps_sd\"", "\"model\"", "\"device\"",
                          "\"dispatches_per_token\"", "\"weight_bytes\"", "\"tg_weight_gbps\""}) {
    CAPTURE(key);
    CHECK(out.find(key) != std::string::npos);
  }
  // K/V memory a token: 2 layers x (a K row of 2 kv heads x 16 f32 values + a V row of one
  // q8_0 block, 32 bytes of quants and a word holding its f16 scale); 8 + 4 tokens held.
  const auto report = nlohmann::json::parse(out);
  CHECK(report["kv_type_k"] == "f32");
  CHECK(report["kv_type_v"] == "q8_0");
  CHECK(report["kv_bytes_per_token"] == 2 * (2 * 16 * 4 + 32 + 4));
  CHECK(report["kv_bytes_in_use"] == 12 * 2 * (2 * 16 * 4 + 32 + 4));
  const std::string overflow = std::string(VKLLM_CLI) + " bench -m " + path + " -p 60 -n 8 2>/dev/null";
  CHECK(std::system(overflow.c_str()) != 0);  // prompt + generated tokens exceed the context
  std::filesystem::remove(path);
}

// With one layer, a token's output depends only on the keys inside its window: the last
// logits of a long sequence equal those of its last `window` tokens at the same positions.
// A model that ignored its declared window would see the older tokens and fail this.
TEST_CASE_FIXTURE(GpuTest, "a model declaring a sliding window attends only within it") {
  for (const char* arch : {"llama", "qwen2"}) {
    CAPTURE(arch);
    SyntheticModel m = small_model(arch);
    m.layers = 1;
    m.sliding_window = 5;
    const TempFile file(std::string("synth-window-") + arch + ".gguf");
    const std::string& path = file.path;
    make_model(m, path);
    Device& dev = gpu();
    LoadedModel loaded = load_model(dev, path);
    CHECK(loaded.model->cache_config(1).sliding_window == std::vector<int>{5});
    std::vector<int32_t> tokens, positions;
    for (int i = 0; i < 13; ++i) tokens.push_back(3 + 17 * i % 290), positions.push_back(i);
    const size_t vocab = size_t(loaded.model->vocab());
    auto last_logits = [&](size_t first) {
      KvCache cache(dev, loaded.model->cache_config(16));
      const auto logits = loaded.model->forward(cache, std::span(tokens).subspan(first), std::span(positions).subspan(first));
      return std::vector<float>(logits.end() - std::ptrdiff_t(vocab), logits.end());
    };
    const auto whole = last_logits(0), windowed = last_logits(13 - 5), wider = last_logits(13 - 6);
    CHECK(max_abs_diff(whole, windowed) < 1e-5);
    CHECK(max_abs_diff(whole, wider) < 1e-5);
    // Without the window the older tokens would count.
    m.sliding_window = 0;
    make_model(m, path);
    LoadedModel full = load_model(dev, path);
    KvCache a(dev, full.model->cache_config(16)), b(dev, full.model->cache_config(16));
    const auto all = full.model->forward(a, tokens, positions);
    const auto tail = full.model->forward(b, std::span(tokens).subspan(8), std::span(positions).subspan(8));
    CHECK(max_abs_diff(std::span(all).last(vocab), std::span(tail).last(vocab)) > 1e-4);
  }
}

// The quantized mixes: llama.cpp's choice of type per tensor, weights held in device memory at
// the file's size (block formats are read as stored, embeddings included), and logits that
// stay as close to the f16 model's as each mix's bits allow, in that order.
TEST_CASE_FIXTURE(GpuTest, "quantized mixes keep the file's size in memory and the f16 model's logits within their error") {
  SyntheticModel m;
  m.dim = 256, m.layers = 8, m.heads = 4, m.kv_heads = 4, m.ffn = 512, m.vocab = 300, m.context = 16;
  const std::vector<int32_t> tokens{1, 17, 99, 250, 3, 42, 7, 299};
  Device& dev = gpu();
  auto logits_of = [&](const std::string& type, double* file_bytes, double* device_bytes) {
    m.type = type;
    const TempFile file("mix-" + type + ".gguf");
    make_model(m, file.path);
    const uint64_t before = dev.allocator().bytes_in_use();
    LoadedModel loaded = load_model(dev, file.path);
    if (device_bytes) *device_bytes = double(dev.allocator().bytes_in_use() - before);
    if (file_bytes) {
      *file_bytes = 0;
      const GgufFile f(file.path);
      for (const GgufTensor& t : f.tensors()) *file_bytes += double(t.bytes);
    }
    Session session(*loaded.model, {.context = 8});
    return session.decode(tokens);
  };
  {
    m.type = "q4_k_m";
    const TempFile file("mix-types.gguf");
    make_model(m, file.path);
    const GgufFile f(file.path);
    CHECK(f.get_uint("general.file_type") == 15);
    CHECK(f.tensor("output.weight").type == uint32_t(GgmlType::Q6_K));
    CHECK(f.tensor("token_embd.weight").type == uint32_t(GgmlType::Q4_K));
    CHECK(f.tensor("blk.0.attn_v.weight").type == uint32_t(GgmlType::Q6_K));   // first eighth
    CHECK(f.tensor("blk.1.attn_v.weight").type == uint32_t(GgmlType::Q4_K));
    CHECK(f.tensor("blk.3.ffn_down.weight").type == uint32_t(GgmlType::Q6_K));  // (3 - 1) % 3 == 2
    CHECK(f.tensor("blk.7.ffn_down.weight").type == uint32_t(GgmlType::Q6_K));  // last eighth
    CHECK(f.tensor("blk.2.attn_q.weight").type == uint32_t(GgmlType::Q4_K));
  }
  // A tied embedding is quantized as the output matrix, Q8_0 where rows miss super-blocks.
  for (const int dim : {64, 256}) {
    CAPTURE(dim);
    SyntheticModel g = small_model("gemma3", "q4_0");
    g.dim = dim;
    const TempFile file("mix-tied.gguf");
    make_model(g, file.path);
    const GgufFile f(file.path);
    CHECK(f.tensor("token_embd.weight").type == uint32_t(dim == 256 ? GgmlType::Q6_K : GgmlType::Q8_0));
    CHECK(f.tensor("blk.0.attn_q.weight").type == uint32_t(GgmlType::Q4_0));
    LoadedModel loaded = load_model(gpu(), file.path);  // the block embedding gathers rows and is the output
    Session session(*loaded.model, {.context = 8});
    for (float v : session.decode(std::vector<int32_t>{2, 17, 299})) REQUIRE(std::isfinite(v));
  }
  const auto f16 = logits_of("f16", nullptr, nullptr);
  double previous = 0;
  for (const char* type : {"q8_0", "q6_k", "q5_k_m", "q4_k_m", "q4_0"}) {
    CAPTURE(type);
    double file_bytes = 0, device_bytes = 0;
    const auto q = logits_of(type, &file_bytes, &device_bytes);
    CHECK(device_bytes <= 1.05 * file_bytes);
    double err = 0, norm = 0;
    for (size_t i = 0; i < q.size(); ++i) err += (q[i] - f16[i]) * (q[i] - f16[i]), norm += f16[i] * f16[i];
    const double relative = std::sqrt(err / norm);
    MESSAGE(std::string(type) << ": logits' relative RMS difference from f16 " << relative << ", device bytes / file tensor bytes "
                 << device_bytes / file_bytes);
    // Per-weight quantization noise is about range / levels / sqrt(12); the logits of this
    // 8-layer random model carry a few times it. Fewer bits, more error, in the mixes' order.
    const double bound = std::string(type) == "q8_0" ? 0.03 : std::string(type) == "q6_k" ? 0.1 : std::string(type) == "q5_k_m" ? 0.2 : 0.4;
    CHECK(relative < bound);
    CHECK(relative > previous);
    previous = relative;
  }
}

TEST_CASE("a memory budget below the model's size fails naming a tensor, with nothing left allocated") {
  SyntheticModel m = small_model("llama", "f16");
  m.layers = 4;
  const TempFile file("budget.gguf");
  make_model(m, file.path);
  uint64_t weights = 0;
  const GgufFile gguf(file.path);
  for (const GgufTensor& t : gguf.tensors()) weights += t.bytes;

  auto small = open_device_with({{"VKLLM_MEMORY_BUDGET", std::to_string(weights / 2)}});
  Allocator& memory = small->allocator();
  CHECK(memory.budget() == weights / 2);
  const uint64_t held = memory.device_memory(), in_use = memory.bytes_in_use();
  try {
    load_model(*small, file.path);
    FAIL("a model twice the budget loaded");
  } catch (const DeviceError& e) {
    CHECK(e.result == VK_ERROR_OUT_OF_DEVICE_MEMORY);
    const std::string what = e.what();
    CAPTURE(what);
    CHECK(what.find("out of memory: '") != std::string::npos);
    CHECK(what.find(".weight") != std::string::npos);  // the tensor that did not fit
    CHECK(what.find("memory budget") != std::string::npos);
  }
  CHECK(memory.device_memory() == held);
  CHECK(memory.bytes_in_use() == in_use);
  check_no_validation_messages(*small);

  // With room for weights and cache, the budget is never exceeded and the model runs as usual.
  auto roomy = open_device_with({{"VKLLM_MEMORY_BUDGET", std::to_string(2 * weights + (4 << 20))}});
  {
    LoadedModel loaded = load_model(*roomy, file.path);
    Session session(*loaded.model, {.context = 8});
    const std::vector<float> logits = session.decode(std::vector<int32_t>{1, 17, 99});
    LoadedModel plain = load_model(gpu(), file.path);
    Session reference(*plain.model, {.context = 8});
    CHECK(max_abs_diff(logits, reference.decode(std::vector<int32_t>{1, 17, 99})) == 0.0f);
    CHECK(roomy->allocator().device_memory() <= roomy->allocator().budget());
  }
  check_no_validation_messages(*roomy);
  CHECK_THROWS_WITH_AS(open_device_with({{"VKLLM_MEMORY_BUDGET", "lots"}}),
                       doctest::Contains("VKLLM_MEMORY_BUDGET='lots' is not a byte count"), Error);
}

TEST_CASE("byte counts take K, M, G and T suffixes") {
  CHECK(parse_bytes("4096", "x") == 4096);
  CHECK(parse_bytes("512M", "x") == 512ull << 20);
  CHECK(parse_bytes("2G", "x") == 2ull << 30);
  CHECK(parse_bytes("3KiB", "x") == 3072);
  CHECK(parse_bytes("1t", "x") == 1ull << 40);
  for (const char* bad : {"", "M", "12X", "1.5G", "-1", "99999999999T"})
    CHECK_THROWS_WITH_AS(parse_bytes(bad, "--memory-budget"), doctest::Contains("--memory-budget='"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "a NaN or infinite weight or block scale is refused at load, naming the tensor") {
  struct Case {
    const char* type;
    const char* tensor;
    std::vector<uint8_t> value;  // written over the tensor's first bytes
    const char* expect;
  };
  const std::vector<Case> cases = {
      {"f16", "blk.0.ffn_up.weight", {0x00, 0x7c}, "tensor 'blk.0.ffn_up.weight' holds NaN or infinity (row 0, column 0)"},
      {"f16", "output_norm.weight", {0x00, 0x00, 0xc0, 0x7f}, "tensor 'output_norm.weight' holds NaN or infinity"},
      {"q8_0", "blk.1.ffn_down.weight", {0x00, 0x7e}, "weight 'blk.1.ffn_down.weight': the scale of block 0 in row 0 is NaN"},
      {"q4_k_m", "blk.0.ffn_gate.weight", {0x00, 0x00, 0x00, 0xfc}, "the scale of block 0 in row 0 is NaN or infinity"},
  };
  for (const Case& c : cases) {
    CAPTURE(c.tensor);
    SyntheticModel m = small_model("llama", c.type);
    m.dim = 256, m.ffn = 512, m.kv_heads = m.heads;  // whole K-quant super-blocks
    const TempFile file(std::string("nonfinite-") + c.type + ".gguf");
    make_model(m, file.path);
    std::ifstream in(file.path, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    {
      const GgufFile gguf(file.path);
      const GgufTensor& t = gguf.tensor(c.tensor);
      std::memcpy(bytes.data() + gguf.data_offset() + t.offset, c.value.data(), c.value.size());
    }
    std::ofstream(file.path, std::ios::binary | std::ios::trunc) << bytes;
    CHECK_THROWS_WITH_AS(load_model(gpu(), file.path), doctest::Contains(c.expect), Error);
  }
}
