// Gemma 2 and 3: llama.cpp's tiny-gemma2/3 logits from GGUF, the same weights from Hugging Face
// directories (F32, BF16, every class and naming), and broken checkpoints refused by name.
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "models/arch.h"
#include "models/gemma.h"
#include "models/gguf.h"
#include "models/load.h"
#include "tests/models/reference.h"
#include "tests/models/hf_export.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_CASE_FIXTURE(GpuTest, "tiny-gemma2 matches llama.cpp within 1e-4, far past its window, prefilled and decoded") {
  auto path = shared_data("models/tiny-gemma2.gguf");
  auto sequences = reference_sequences("reference/tiny-gemma2-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  auto& model = dynamic_cast<GemmaModel&>(*loaded.model);
  CHECK(model.config().head_dim * model.config().n_heads != model.config().dim);  // q is wider than the model
  CHECK(model.config().sliding_window[0] == 16);
  CHECK(model.config().sliding_window[1] == 0);
  for (const ReferenceSequence& s : sequences) {
    CAPTURE(s.name);
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "tiny-gemma3 matches llama.cpp within 1e-4: QK-norm, 5:1 layers, two RoPE bases") {
  auto path = shared_data("models/tiny-gemma3.gguf");
  auto sequences = reference_sequences("reference/tiny-gemma3-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  auto& model = dynamic_cast<GemmaModel&>(*loaded.model);
  const GemmaConfig& c = model.config();
  CHECK(c.qk_norm);
  CHECK(c.sliding_window == std::vector<int>{16, 16, 16, 16, 16, 0, 16});
  CHECK(c.layer_rope(5).theta == 1e6);
  CHECK(c.layer_rope(5).freq_scale == 1.0 / 8);
  CHECK(c.layer_rope(0).theta == 1e4);
  CHECK(c.layer_rope(0).freq_scale == 1.0);
  for (const ReferenceSequence& s : sequences) {
    CAPTURE(s.name);
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
  }
}

namespace {

// What llama.cpp assumes where a Gemma GGUF has no query_pre_attn_scalar: head_dim (the
// transformers default, 256, differs).
fs::path write_gemma(const std::string& gguf_path, const std::string& label, HfExport e) {
  const GgufFile gguf(gguf_path);
  const std::string arch = gguf.get_string("general.architecture");
  e.extra_config["query_pre_attn_scalar"] = gguf.get_uint(arch + ".attention.key_length");
  return write_hf_from_gguf(gguf_path, label, e);
}

std::vector<float> logits(Model& model, const std::vector<int32_t>& tokens) {
  KvCache cache(model.device(), model.cache_config(int64_t(tokens.size())));
  return model.forward(cache, tokens, iota_positions(tokens.size()));
}

float max_abs_diff(const std::vector<float>& a, const std::vector<float>& b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace

// transformers' checkpoints of the same weights: F32 gives the GGUF's logits; BF16 gives bit
// for bit what F32 holding the same rounded values gives, whichever class and layout.
TEST_CASE_FIXTURE(GpuTest, "Gemma 2 and 3 Hugging Face directories load to the GGUF's logits, F32 and BF16") {
  for (const char* name : {"tiny-gemma2", "tiny-gemma3"}) {
    CAPTURE(name);
    auto path = shared_data(std::string("models/") + name + ".gguf");
    auto sequences = reference_sequences(std::string("reference/") + name + "-logits.jsonl", 512);
    if (!path || sequences.empty()) return;
    const bool three = std::string(name) == "tiny-gemma3";
    const std::string causal = three ? "Gemma3ForCausalLM" : "Gemma2ForCausalLM";
    const ReferenceSequence& s = sequences.at(1);  // 60 tokens, past the window
    const std::vector<int32_t>& tokens = s.tokens;
    const std::vector<float> want = logits(*load_model(gpu(), *path).model, tokens);
    // Gemma 3's multimodal class as newer transformers save it: "model.language_model.layers...".
    const HfExport plain = three ? HfExport{.hf_class = "Gemma3ForConditionalGeneration", .rename = {"model.", "model.language_model."}, .text_config = true}
                                 : HfExport{.hf_class = causal};
    LoadedModel f32 = load_model(gpu(), write_gemma(*path, "hf-gemma-f32", plain).string());
    CHECK(max_abs_diff(logits(*f32.model, tokens), want) <= 1e-5f);
    CHECK(max_error_prefill(*f32.model, s) <= 1e-4f);  // and llama.cpp's

    HfExport rounded{.hf_class = causal, .bf16_values = true};
    HfExport bf16{.hf_class = causal, .bf16_values = true, .bf16_storage = true};
    if (three) bf16 = {"Gemma3ForConditionalGeneration", true, true, {"", "language_model."}, true};  // older transformers
    const std::vector<float> from_rounded = logits(*load_model(gpu(), write_gemma(*path, "hf-gemma-rounded", rounded).string()).model, tokens);
    CHECK(from_rounded != want);  // rounding changed the weights
    CHECK(logits(*load_model(gpu(), write_gemma(*path, "hf-gemma-bf16", bf16).string()).model, tokens) == from_rounded);
    for (const char* dir : {"hf-gemma-f32", "hf-gemma-rounded", "hf-gemma-bf16"}) fs::remove_all(temp_path(dir));
  }
}

TEST_CASE_FIXTURE(GpuTest, "a broken Gemma checkpoint is refused by name") {
  auto path = shared_data("models/tiny-gemma3.gguf");
  if (!path) return;
  const fs::path missing = write_gemma(*path, "hf-gemma-missing", {.hf_class = "Gemma3ForCausalLM", .drop = "blk.3.attn_k_norm.weight"});
  CHECK_THROWS_WITH_AS(load_model(gpu(), missing.string()),
                       doctest::Contains("tensor 'blk.3.attn_k_norm.weight' (model.layers.3.self_attn.k_norm.weight) is missing"), Error);
  const fs::path dir = write_gemma(*path, "hf-gemma-edited", {.hf_class = "Gemma3ForCausalLM"});
  const json config = json::parse(std::ifstream(dir / "config.json"));
  auto load_with = [&](const json& change) {
    json c = config;
    c.update(change);
    std::ofstream(dir / "config.json") << c.dump();
    return load_model(gpu(), dir.string());
  };
  CHECK_THROWS_WITH_AS(load_with({{"head_dim", 40}}),
                       doctest::Contains("blk.0.attn_q.weight has 128 rows, not 4 heads of config.json 'head_dim' 40"), Error);
  json types = json::array();
  for (int l = 0; l < 7; ++l) types.push_back(l == 5 ? "full_attention" : "sliding_attention");
  CHECK(dynamic_cast<GemmaModel&>(*load_with({{"layer_types", types}}).model).config().sliding_window ==
        std::vector<int>{16, 16, 16, 16, 16, 0, 16});
  types[2] = "chunked_attention";
  CHECK_THROWS_WITH_AS(load_with({{"layer_types", types}}), doctest::Contains("'layer_types' entry 2 is 'chunked_attention'"), Error);
  fs::remove_all(missing);
  fs::remove_all(dir);
}
