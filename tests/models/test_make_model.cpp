// make-model writes standard GGUF that loads and runs; `vkllm bench --json` reports the fields
// scripts rely on.
#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "models/gguf.h"
#include "host/engine/session.h"
#include "models/load.h"
#include "models/make_model.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;


TEST_CASE_FIXTURE(GpuTest, "make-model writes GGUF that reads back, loads and runs: llama, qwen2, gpt2 and chatglm6b, f16 and q8_0") {
  for (const char* arch : {"llama", "qwen2", "gpt2", "chatglm6b"})
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
      // Through a session, so each architecture places the tokens its own way.
      Session session(*loaded.model, {.context = 8});
      const std::vector<int32_t> prompt = std::string(arch) == "chatglm6b" ? std::vector<int32_t>{17, 298, 299} : std::vector<int32_t>{1, 17, 299};
      const auto logits = session.decode(prompt);
      CHECK(logits.size() == 3 * 300);
      for (float v : logits) REQUIRE(std::isfinite(v));
      std::filesystem::remove(path);
    }
  SyntheticModel bad = small_model("llama", "q4_k");
  CHECK_THROWS_WITH_AS(make_model(bad, temp_path("never.gguf")), doctest::Contains("type must be f16 or q8_0"), Error);
  bad = small_model("bert");
  CHECK_THROWS_WITH_AS(make_model(bad, temp_path("never.gguf")), doctest::Contains("architecture 'bert' is not supported"), Error);
}

TEST_CASE("vkllm bench --json reports prompt and generation speed with their spread") {
  const auto path = temp_path("bench-model.gguf");
  make_model(small_model("llama", "q8_0"), path);
  const std::string cmd = std::string(VKLLM_CLI) + " bench -m " + path + " -p 8 -n 4 -r 2 --json 2>/dev/null";
  std::string out;
  if (FILE* p = popen(cmd.c_str(), "r")) {
    std::array<char, 512> buf{};
    while (fgets(buf.data(), int(buf.size()), p)) out += buf.data();
    CHECK(pclose(p) == 0);
  }
  for (const char* key : {"\"pp_tps\"", "\"tg_tps\"", "\"pp_tps_sd\"", "\"tg_tps_sd\"", "\"model\"", "\"device\""}) {
    CAPTURE(key);
    CHECK(out.find(key) != std::string::npos);
  }
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
