// T5Gemma 2: the GPU path against the host reference (two Gemma 3 stacks, the encoder's
// windows split before and after the query, merged self- and cross-attention) on random
// weights, Hugging Face directories in both of transformers' layouts, probes of the merged
// attention, and decoding against the cross-attention cache.
#include <cmath>
#include <filesystem>

#include "host/engine/session.h"
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

ReferenceSequence host_reference(const std::string& gguf, const T5GemmaEncoderModel& model) {
  const GgufFile file(gguf);
  ReferenceSequence s{"host", kTokens, {}, kInput};
  s.logits.data = host_t5gemma2_logits(file, model.encoder_config(), model.decoder_config(), kInput, kTokens);
  s.logits.shape = {int64_t(kTokens.size()), model.vocab()};
  float scale = 0;
  for (float v : s.logits.data) scale = std::max(scale, std::fabs(v));
  CHECK(scale > 1e-2f);
  return s;
}

std::vector<float> logits_of(const std::string& path) {
  LoadedModel loaded = load_model(gpu(), path);
  KvCache cache(gpu(), loaded.model->cache_config(int64_t(kTokens.size())));
  loaded.model->encode(cache, kInput);
  return loaded.model->forward(cache, kTokens, iota_positions(kTokens.size()));
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "T5Gemma 2 matches its host reference on random weights, prefilled and decoded against the cross cache") {
  for (const char* type : {"f32", "f16"}) {
    CAPTURE(type);
    const auto path = temp_path("synthetic-t5gemma2.gguf");
    make_model(small_model("t5gemma2", type), path);
    LoadedModel loaded = load_model(gpu(), path);
    auto& model = dynamic_cast<T5Gemma2Model&>(*loaded.model);
    CHECK(model.decoder_start_token() == 2);
    for (const GemmaConfig* c : {&model.encoder_config(), &model.decoder_config()}) {
      CHECK(c->qk_norm);
      CHECK(c->sliding_window == std::vector<int>{8, 8, 8, 8, 8, 0});
      CHECK(c->layer_rope(0).theta == 1e4);
      CHECK(c->layer_rope(5).theta == 1e6);
      CHECK(c->attn_softcap == 0.0f);
    }
    const ReferenceSequence s = host_reference(path, model);
    CHECK(max_error_prefill(model, s) <= 1e-4f);
    CHECK(max_error_decode(model, s) <= 1e-4f);
    std::filesystem::remove(path);
  }
}

TEST_CASE_FIXTURE(GpuTest, "T5Gemma 2 generation with the cross-attention cache equals recomputing it, and the decoder, every step") {
  LoadedModel loaded = load_synthetic(small_model("t5gemma2", "f32"));
  check_generation_with_cross_cache(*loaded.model, kInput);
}

TEST_CASE_FIXTURE(GpuTest, "T5Gemma 2 probes: each query's merged attention sums to one over its own keys and the encoder's") {
  LoadedModel loaded = load_synthetic(small_model("t5gemma2", "f32"));
  Model& model = *loaded.model;
  KvCache cache(gpu(), model.cache_config(int64_t(kTokens.size())));
  model.encode(cache, kInput);
  model.forward(cache, std::span(kTokens).first(7), iota_positions(7));
  AttentionProbe probe;
  const auto positions = iota_positions(kTokens.size());
  model.forward(cache, std::span(kTokens).last(4), std::span(positions).last(4), {.probe = &probe});
  REQUIRE(probe.layers.size() == 6);
  REQUIRE(probe.cross_layers.size() == 6);
  CHECK(probe.n_kv == int64_t(kTokens.size()));
  CHECK(probe.n_cross == int64_t(kInput.size()));
  for (int l = 0; l < 6; ++l)
    for (int h = 0; h < probe.n_heads; ++h)
      for (int64_t i = 0; i < 4; ++i) {
        const int64_t query = 7 + i;
        double own = 0, encoder = 0;
        for (int64_t t = 0; t < probe.n_kv; ++t) {
          const float p = probe.at(l, h, i, t);
          if (t > query || (l < 5 && query - t >= 8)) CHECK(p == 0.0f);  // future keys, and past the window
          own += p;
        }
        for (int64_t t = 0; t < probe.n_cross; ++t)
          encoder += probe.cross_layers[size_t(l)][size_t((h * 4 + i) * probe.n_cross + t)];
        CHECK(own > 0);
        CHECK(encoder > 0);
        CHECK(own + encoder == doctest::Approx(1.0).epsilon(1e-5));
      }
}

// transformers' two layouts of T5Gemma2ForConditionalGeneration: the encoder's config flat
// with its text model's tensors under model.encoder., and (as released) the encoder's config
// under "text_config" with its tensors under model.encoder.text_model.
TEST_CASE_FIXTURE(GpuTest, "a Hugging Face T5Gemma 2 directory in either layout loads to the GGUF's logits") {
  const auto gguf = temp_path("synthetic-t5gemma2-hf.gguf");
  make_model(small_model("t5gemma2", "f32"), gguf);
  const std::vector<float> want = logits_of(gguf);
  const HfExport flat{.hf_class = "T5Gemma2ForConditionalGeneration"};
  const auto flat_dir = write_hf_from_gguf(gguf, "hf-t5gemma2-flat", flat);
  CHECK(logits_of(flat_dir.string()) == want);
  HfExport released = flat;
  released.rename = {"model.encoder.", "model.encoder.text_model."};
  released.config_alternative = 1;
  const auto released_dir = write_hf_from_gguf(gguf, "hf-t5gemma2-released", released);
  CHECK(logits_of(released_dir.string()) == want);

  // A token that needs the vision tower is refused by name, wherever the config says which
  // (transformers 5.0's encoder config held it).
  HfExport eoi = released;
  std::vector<std::filesystem::path> eoi_dirs;
  for (const nlohmann::json& where : {nlohmann::json{{"eoi_token_index", 7}}, nlohmann::json{{"encoder", {{"eoi_token_index", 7}}}}}) {
    eoi.extra_config = where;
    eoi_dirs.push_back(write_hf_from_gguf(gguf, "hf-t5gemma2-eoi-" + std::to_string(eoi_dirs.size()), eoi));
    LoadedModel loaded = load_model(gpu(), eoi_dirs.back().string());
    KvCache cache(gpu(), loaded.model->cache_config(4));
    CHECK_THROWS_WITH_AS(loaded.model->encode(cache, std::vector<int32_t>{5, 7}),
                         doctest::Contains("token id 7 is the end-of-image token, which needs T5Gemma 2's vision tower"), Error);
  }
  HfExport broken = released;
  broken.drop = "dec.blk.1.attn_k_norm.weight";
  const auto missing = write_hf_from_gguf(gguf, "hf-t5gemma2-broken", broken);
  CHECK_THROWS_WITH_AS(load_model(gpu(), missing.string()),
                       doctest::Contains("tensor 'dec.blk.1.attn_k_norm.weight' (model.decoder.layers.1.self_attn.k_norm.weight) is missing"),
                       Error);
  std::filesystem::remove(gguf);
  eoi_dirs.insert(eoi_dirs.end(), {flat_dir, released_dir, missing});
  for (const auto& d : eoi_dirs) std::filesystem::remove_all(d);
}

// A 128k-position encoder needs no 128k-entry cross cache for a short input.
TEST_CASE_FIXTURE(GpuTest, "a session's cross-attention cache holds the encoder input it is made for, and refuses a longer one") {
  LoadedModel loaded = load_synthetic(small_model("t5gemma2", "f32"));
  Model& model = *loaded.model;
  CHECK(model.encoder_context() == 64);
  CHECK(model.cache_config(8, 14, DType::F32).cross_capacity == 14);
  CHECK_THROWS_WITH_AS(model.cache_config(8, 65, DType::F32), doctest::Contains("an encoder input of 65 tokens is longer than the model accepts (64)"),
                       Error);
  Session session(model, {.context = 8, .encoder_context = int64_t(kInput.size())});
  session.encode(kInput);
  std::vector<int32_t> longer = kInput;
  longer.push_back(3);
  CHECK_THROWS_WITH_AS(session.encode(longer), doctest::Contains("an encoder input of 15 tokens is longer than this cache was made for (14)"), Error);
}
