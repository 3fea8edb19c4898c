// T5: llama.cpp's tiny-t5 logits (encoder once, decoder prefilled and decoded against the
// cross-attention cache); what encoder-decoder models refuse.
#include <cmath>
#include <filesystem>

#include "models/gguf.h"
#include "models/load.h"
#include "models/make_model.h"
#include "models/t5.h"
#include "tests/models/hf_export.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "tiny-t5 matches llama.cpp within 1e-4, prefilled and decoded against the cross-attention cache") {
  auto path = shared_data("models/tiny-t5.gguf");
  auto sequences = reference_sequences("reference/tiny-t5-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  auto& model = dynamic_cast<T5Model&>(*loaded.model);
  CHECK(model.encoder_decoder());
  CHECK(model.decoder_start_token() == 0);
  CHECK(model.config().gated);
  CHECK(!model.config().tied_output);
  for (const ReferenceSequence& s : sequences) {
    CAPTURE(s.name);
    REQUIRE(!s.encoder_tokens.empty());
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "encoder-decoder models refuse decoding before encoding and inputs past their length") {
  auto path = shared_data("models/tiny-t5.gguf");
  if (!path) return;
  LoadedModel loaded = load_model(gpu(), *path);
  Model& model = *loaded.model;
  KvCache cache(gpu(), model.cache_config(8));
  CHECK_THROWS_WITH_AS(model.forward(cache, std::vector<int32_t>{0}, std::vector<int32_t>{0}),
                       doctest::Contains("encode the input first"), Error);
  CHECK_THROWS_WITH_AS(model.encode(cache, std::vector<int32_t>(513, 5)),
                       doctest::Contains("an encoder input of 513 tokens is longer than the model accepts (512)"), Error);
  CHECK_THROWS_WITH_AS(model.encode(cache, std::vector<int32_t>{5, 512}), doctest::Contains("token id 512 is out of range"), Error);
  LoadedModel llama = load_synthetic(small_model("llama"));
  KvCache plain(gpu(), llama.model->cache_config(8));
  CHECK_THROWS_WITH_AS(llama.model->encode(plain, std::vector<int32_t>{5}), doctest::Contains("llama is a decoder-only model"), Error);
  CHECK_THROWS_WITH_AS(plain.cross(), doctest::Contains("no cross-attention part"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "T5 generation with the cross-attention cache equals recomputing it, and the decoder, every step") {
  auto path = shared_data("models/tiny-t5.gguf");
  auto sequences = reference_sequences("reference/tiny-t5-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  LoadedModel loaded = load_model(gpu(), *path);
  check_generation_with_cross_cache(*loaded.model, sequences.back().encoder_tokens);
}

// The host reference (tests/models/reference.cpp, op references in double precision) agrees
// with llama.cpp's logits, and the GPU agrees with it on random weights in both T5 versions:
// v1.1 (gated GELU, separate head) and v1.0 (ReLU, tied head rescaled by dim^-0.5).
TEST_CASE_FIXTURE(GpuTest, "T5's host reference matches llama.cpp, and the GPU matches it on random weights, v1.0 and v1.1") {
  auto path = shared_data("models/tiny-t5.gguf");
  auto sequences = reference_sequences("reference/tiny-t5-logits.jsonl", 512);
  if (path && !sequences.empty()) {
    const GgufFile file(*path);
    LoadedModel loaded = load_model(gpu(), *path);
    const T5Config& c = dynamic_cast<T5Model&>(*loaded.model).config();
    const ReferenceSequence& s = sequences.back();
    CHECK(max_abs_diff(host_t5_logits(file, c, s.encoder_tokens, s.tokens), s.logits.data) <= 1e-4f);
  }
  for (const bool v1_0 : {false, true}) {
    CAPTURE(v1_0);
    SyntheticModel m = small_model("t5", "f16");
    m.t5_v1_0 = v1_0;
    m.head_dim = 24;  // heads x d_kv != d_model, as in t5-3b
    const auto file_path = temp_path("synthetic-t5.gguf");
    make_model(m, file_path);
    const GgufFile file(file_path);
    LoadedModel loaded = load_model(gpu(), file_path);
    auto& model = dynamic_cast<T5Model&>(*loaded.model);
    CHECK(model.config().gated == !v1_0);
    CHECK(model.config().tied_output == v1_0);
    const std::vector<int32_t> input{5, 77, 3, 250, 19, 40, 41}, tokens{0, 12, 13, 200};
    KvCache cache(gpu(), model.cache_config(8));
    model.encode(cache, input);
    const auto got = model.forward(cache, tokens, iota_positions(tokens.size()));
    const auto want = host_t5_logits(file, model.config(), input, tokens);
    float scale = 0;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    CHECK(scale > 1e-3f);  // not all zeros
    CHECK(max_abs_diff(got, want) <= 1e-4f * std::max(1.0f, scale));
    std::filesystem::remove(file_path);
  }
}

// tiny-t5 as transformers saves T5ForConditionalGeneration (encoder.block.*, decoder.block.*,
// shared.weight, lm_head.weight; config.json with d_model, d_kv, ...) loads to llama.cpp's
// logits; without its relative attention bias it is refused by name.
TEST_CASE_FIXTURE(GpuTest, "a Hugging Face T5 directory loads to the GGUF's logits; a missing relative bias is named") {
  auto path = shared_data("models/tiny-t5.gguf");
  auto sequences = reference_sequences("reference/tiny-t5-logits.jsonl", 512);
  if (!path || sequences.empty()) return;
  const HfExport e{.hf_class = "T5ForConditionalGeneration", .extra_config = {{"feed_forward_proj", "gated-gelu"}, {"tie_word_embeddings", false}}};
  const auto dir = write_hf_from_gguf(*path, "hf-t5", e);
  {
    LoadedModel loaded = load_model(gpu(), dir.string());
    for (const ReferenceSequence& s : sequences) {
      CAPTURE(s.name);
      CHECK(max_error_prefill(*loaded.model, s) <= 1e-4f);
    }
  }
  HfExport broken = e;
  broken.drop = "dec.blk.0.attn_rel_b.weight";
  const auto missing = write_hf_from_gguf(*path, "hf-t5-broken", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), missing.string()),
                       doctest::Contains("tensor 'dec.blk.0.attn_rel_b.weight' "
                                         "(decoder.block.0.layer.0.SelfAttention.relative_attention_bias.weight) is missing"),
                       Error);
  std::filesystem::remove_all(dir);
  std::filesystem::remove_all(missing);
}

// Both T5 versions' Hugging Face names: v1.1's wi_0/wi_1 and the original T5's wi (ReLU, tied
// head), each loading to the logits of the same weights in GGUF; tie_word_embeddings decides
// whether the head is tied.
TEST_CASE_FIXTURE(GpuTest, "Hugging Face T5 v1.0 and v1.1 directories load to the GGUF's logits") {
  for (const bool v1_0 : {false, true}) {
    CAPTURE(v1_0);
    SyntheticModel m = small_model("t5", "f32");
    m.t5_v1_0 = v1_0;
    const auto gguf = temp_path("synthetic-t5-hf.gguf");
    make_model(m, gguf);
    HfExport e{.hf_class = "T5ForConditionalGeneration"};
    e.hf_alternative = v1_0 ? 1 : 0;  // DenseReluDense.wi
    if (!v1_0) e.extra_config = {{"tie_word_embeddings", false}};  // v1.0 leaves it to T5Config's default (true)
    const auto dir = write_hf_from_gguf(gguf, "hf-t5-synthetic", e);
    const std::vector<int32_t> input{5, 77, 3, 250, 19}, tokens{0, 12, 13};
    std::vector<float> logits[2];
    for (int i = 0; i < 2; ++i) {
      LoadedModel loaded = load_model(gpu(), i == 0 ? gguf : dir.string());
      CHECK(dynamic_cast<T5Model&>(*loaded.model).config().gated == !v1_0);
      KvCache cache(gpu(), loaded.model->cache_config(4));
      loaded.model->encode(cache, input);
      logits[i] = loaded.model->forward(cache, tokens, iota_positions(tokens.size()));
    }
    CHECK(logits[1] == logits[0]);
    if (!v1_0) {  // config.json decides, not the presence of lm_head.weight
      e.extra_config = {{"tie_word_embeddings", true}};
      const auto tied = write_hf_from_gguf(gguf, "hf-t5-synthetic-tied", e);
      LoadedModel loaded = load_model(gpu(), tied.string());
      CHECK(dynamic_cast<T5Model&>(*loaded.model).config().tied_output);
      std::filesystem::remove_all(tied);
    }
    std::filesystem::remove(gguf);
    std::filesystem::remove_all(dir);
  }
}
