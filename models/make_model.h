#pragma once
// Random-weight models in standard GGUF conventions (llama.cpp can read them), so benchmarks
// need no download.
#include <cstdint>
#include <string>
#include <vector>

namespace vkllm {

struct SyntheticModel {
  std::string arch = "llama";
  int dim = 768, layers = 12, heads = 12, kv_heads = 12, ffn = 2048, vocab = 32000, context = 2048;
  bool t5_v1_0 = false;  // t5: the original T5's ReLU feed-forward and tied, rescaled output (else v1.1 / Flan)
  int head_dim = 0;  // gemma2, gemma3, t5gemma(2), t5: heads' width where it is not dim / heads (0: dim / heads)
  std::string type = "f16";  // the matrices: f32, f16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k (llama.cpp's mixes); norms are f32
  uint32_t seed = 1;
  int sliding_window = 0;  // llama, qwen2: every layer attends within this many positions (0: full);
                           // gemma2, gemma3, t5gemma(2): the sliding layers (every other; five of six)
  std::string chat_template;  // tokenizer.chat_template (empty: none)
  std::vector<float> rope_freq_factors;  // llama, qwen2: rope_freqs.weight, one per rotated pair (empty: none)
};

void make_model(const SyntheticModel& m, const std::string& path);

}  // namespace vkllm
