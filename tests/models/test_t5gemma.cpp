// T5Gemma: the GPU path against the host reference (two Gemma 2 stacks, the encoder's windows
// both ways, cross-attention normed before and after, soft-caps) on random weights, Hugging
// Face directories with per-stack configs, and decoding against the cross-attention cache.
#include <cmath>
#include <filesystem>

#include "models/gguf.h"
#include "models/load.h"
#include "models/make_model.h"
#include "models/t5gemma.h"
#include "tests/models/hf_export.h"
#include "tests/models/reference.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
// Longer than the window (8) in both stacks, so sliding layers see part of each.
const std::vector<int32_t> kInput{5, 77, 3, 250, 19, 40, 41, 8, 9, 120, 121, 122, 60, 61}, kTokens{2, 12, 13, 200, 7, 90, 91, 92, 93, 94, 95};

ReferenceSequence host_reference(const std::string& gguf, const T5GemmaModel& model) {
  const GgufFile file(gguf);
  ReferenceSequence s{"host", kTokens, {}, kInput};
  s.logits.data = host_t5gemma_logits(file, model.encoder_config(), model.decoder_config(), kInput, kTokens);
  s.logits.shape = {int64_t(kTokens.size()), model.vocab()};
  float scale = 0;
  for (float v : s.logits.data) scale = std::max(scale, std::fabs(v));
  CHECK(scale > 1e-2f);
  return s;
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "T5Gemma matches its host reference on random weights, prefilled and decoded against the cross cache") {
  for (const char* type : {"f32", "f16"}) {
    CAPTURE(type);
    const auto path = temp_path("synthetic-t5gemma.gguf");
    make_model(small_model("t5gemma", type), path);
    LoadedModel loaded = load_model(gpu(), path);
    auto& model = dynamic_cast<T5GemmaModel&>(*loaded.model);
    CHECK(model.decoder_start_token() == 2);
    CHECK(model.encoder_config().sliding_window == std::vector<int>{8, 0});
    CHECK(model.decoder_config().final_softcap == 30.0f);
    const ReferenceSequence s = host_reference(path, model);
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
    std::filesystem::remove(path);
  }
}

TEST_CASE_FIXTURE(GpuTest, "T5Gemma generation with the cross-attention cache equals recomputing it, and the decoder, every step") {
  LoadedModel loaded = load_synthetic(small_model("t5gemma", "f32"));
  check_generation_with_cross_cache(*loaded.model, kInput);
}

// As transformers saves T5GemmaForConditionalGeneration: config.json's "encoder" and
// "decoder" objects, model.encoder.* / model.decoder.* names, Gemma's norms as w.
TEST_CASE_FIXTURE(GpuTest, "a Hugging Face T5Gemma directory loads to the GGUF's logits and reads each stack's config") {
  const auto gguf = temp_path("synthetic-t5gemma-hf.gguf");
  make_model(small_model("t5gemma", "f32"), gguf);
  auto logits = [&](const std::string& path) {
    LoadedModel loaded = load_model(gpu(), path);
    KvCache cache(gpu(), loaded.model->cache_config(int64_t(kTokens.size())));
    loaded.model->encode(cache, kInput);
    return loaded.model->forward(cache, kTokens, iota_positions(kTokens.size()));
  };
  const HfExport e{.hf_class = "T5GemmaForConditionalGeneration"};
  const auto dir = write_hf_from_gguf(gguf, "hf-t5gemma", e);
  CHECK(logits(dir.string()) == logits(gguf));

  HfExport variant = e;  // the encoder global throughout, the decoder's soft-cap off
  variant.extra_config = {{"encoder", {{"layer_types", {"full_attention", "full_attention"}}}}, {"decoder", {{"final_logit_softcapping", nullptr}}}};
  const auto global = write_hf_from_gguf(gguf, "hf-t5gemma-global", variant);
  {
    LoadedModel loaded = load_model(gpu(), global.string());
    auto& model = dynamic_cast<T5GemmaModel&>(*loaded.model);
    CHECK(model.encoder_config().sliding_window == std::vector<int>{0, 0});
    CHECK(model.decoder_config().sliding_window == std::vector<int>{8, 0});
    CHECK(model.decoder_config().final_softcap == 0.0f);
    CHECK(max_error_prefill(model, host_reference(gguf, model)) <= 1e-4f);
  }

  HfExport broken = e;
  broken.drop = "dec.blk.1.cross_attn_v.weight";
  const auto missing = write_hf_from_gguf(gguf, "hf-t5gemma-broken", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), missing.string()),
                       doctest::Contains("tensor 'dec.blk.1.cross_attn_v.weight' (model.decoder.layers.1.cross_attn.v_proj.weight) is missing"),
                       Error);
  broken = e;
  broken.extra_config = {{"decoder", {{"layer_types", {"full_attention"}}}}};
  const auto short_types = write_hf_from_gguf(gguf, "hf-t5gemma-types", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), short_types.string()),
                       doctest::Contains("config.json 'decoder.layer_types' needs one entry per layer (2)"), Error);
  std::filesystem::remove(gguf);
  for (const auto& d : {dir, global, missing, short_types}) std::filesystem::remove_all(d);
}
