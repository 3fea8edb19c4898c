// BART: the GPU path against the host reference (post-norm blocks with biases, learned
// positions from row 2, final_logits_bias) on random weights, Hugging Face directories, and
// decoding against the cross-attention cache.
#include <cmath>
#include <filesystem>

#include "models/bart.h"
#include "models/gguf.h"
#include "models/load.h"
#include "models/make_model.h"
#include "tests/models/hf_export.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
const std::vector<int32_t> kInput{5, 77, 3, 250, 19, 40, 41}, kTokens{299, 12, 13, 200, 7};

// The host reference's logits as a reference sequence, after checking they are not all zeros.
ReferenceSequence host_reference(const std::string& gguf, const BartConfig& c) {
  const GgufFile file(gguf);
  ReferenceSequence s{"host", kTokens, {}, kInput};
  s.logits.data = host_bart_logits(file, c, kInput, kTokens);
  s.logits.shape = {int64_t(kTokens.size()), c.vocab};
  float scale = 0;
  for (float v : s.logits.data) scale = std::max(scale, std::fabs(v));
  CHECK(scale > 1e-2f);
  return s;
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "BART matches its host reference on random weights, prefilled and decoded against the cross cache") {
  for (const char* type : {"f32", "f16"}) {
    CAPTURE(type);
    const auto path = temp_path("synthetic-bart.gguf");
    make_model(small_model("bart", type), path);
    LoadedModel loaded = load_model(gpu(), path);
    auto& model = dynamic_cast<BartModel&>(*loaded.model);
    CHECK(model.encoder_decoder());
    CHECK(model.decoder_start_token() == 299);
    CHECK(model.decoder_prompt() == std::vector<int32_t>{299});
    const ReferenceSequence s = host_reference(path, model.config());
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
    std::filesystem::remove(path);
  }
}

TEST_CASE_FIXTURE(GpuTest, "BART generation with the cross-attention cache equals recomputing it, and the decoder, every step") {
  LoadedModel loaded = load_synthetic(small_model("bart", "f32"));
  check_generation_with_cross_cache(*loaded.model, kInput);
}

// As transformers saves BartForConditionalGeneration (model.shared, model.encoder.layers.*,
// final_logits_bias; no lm_head where tied): the GGUF's logits bit for bit; scale_embedding,
// activation_function and forced_bos_token_id are read; a missing bias or unequal stacks are refused by name.
TEST_CASE_FIXTURE(GpuTest, "a Hugging Face BART directory loads to the GGUF's logits and reads its config") {
  const auto gguf = temp_path("synthetic-bart-hf.gguf");
  make_model(small_model("bart", "f32"), gguf);
  auto logits = [&](const std::string& path) {
    LoadedModel loaded = load_model(gpu(), path);
    KvCache cache(gpu(), loaded.model->cache_config(8));
    loaded.model->encode(cache, kInput);
    return loaded.model->forward(cache, kTokens, iota_positions(kTokens.size()));
  };
  const HfExport e{.hf_class = "BartForConditionalGeneration"};
  const auto dir = write_hf_from_gguf(gguf, "hf-bart", e);
  CHECK(logits(dir.string()) == logits(gguf));

  HfExport variant = e;
  variant.extra_config = {{"scale_embedding", true}, {"activation_function", "relu"}, {"forced_bos_token_id", 0}};
  const auto scaled = write_hf_from_gguf(gguf, "hf-bart-scaled", variant);
  {
    LoadedModel loaded = load_model(gpu(), scaled.string());
    auto& model = dynamic_cast<BartModel&>(*loaded.model);
    CHECK(model.config().scale_embedding);
    CHECK(model.config().activation == BartActivation::Relu);
    CHECK(model.decoder_prompt() == std::vector<int32_t>{299, 0});  // generation forces <s> after the start token
    CHECK(max_error_prefill(model, host_reference(gguf, model.config())) <= 1e-4f);
  }

  HfExport broken = e;
  broken.drop = "dec.blk.1.cross_attn_k.bias";
  const auto missing = write_hf_from_gguf(gguf, "hf-bart-broken", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), missing.string()),
                       doctest::Contains("tensor 'dec.blk.1.cross_attn_k.bias' (model.decoder.layers.1.encoder_attn.k_proj.bias) is missing"),
                       Error);
  broken = e;
  broken.extra_config = {{"decoder_ffn_dim", 64}};
  const auto unequal = write_hf_from_gguf(gguf, "hf-bart-unequal", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), unequal.string()),
                       doctest::Contains("config.json 'decoder_ffn_dim' differs from config.json 'encoder_ffn_dim'"), Error);
  broken.extra_config = {{"activation_function", "silu"}};
  const auto silu = write_hf_from_gguf(gguf, "hf-bart-silu", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), silu.string()),
                       doctest::Contains("config.json 'activation_function' 'silu' is not supported"), Error);
  std::filesystem::remove(gguf);
  for (const auto& d : {dir, scaled, missing, unequal, silu}) std::filesystem::remove_all(d);
}
