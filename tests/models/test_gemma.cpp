// Gemma 2: sqrt(dim)-scaled embeddings, pre- and post-norms, q wider than the model, GeGLU,
// sliding windows on even layers, attention and final soft-caps; llama.cpp's tiny-gemma2 logits.
#include "models/gemma.h"
#include "models/load.h"
#include "tests/models/reference.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

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
