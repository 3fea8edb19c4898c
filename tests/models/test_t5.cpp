// T5: llama.cpp's tiny-t5 logits (encoder once, decoder prefilled and decoded against the
// cross-attention cache); what encoder-decoder models refuse.
#include "models/load.h"
#include "models/t5.h"
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
