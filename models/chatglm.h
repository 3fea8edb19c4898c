#pragma once
// ChatGLM-6B (v1) as a graph builder: a decoder-only prefix LM. Each GLM block is
// x' = alpha * LN(x) + attention(LN(x)), then x'' = alpha * LN2(x') + ffn(LN2(x')) with
// alpha = sqrt(2 * n_layers); q/k/v/o and the GELU (tanh) FFN carry biases; keys and queries
// rotate with 2D RoPE (first half of each head by position, second half by block position).
// The prompt is a bidirectional prefix (ForwardExtras::prefix); generated tokens are causal.
// Generation keeps every new token's position at the [gMASK] position while its block
// position counts 1, 2, 3, ...: positions repeat, so the cache accepts them in any order.
#include <cmath>
#include <vector>

#include "models/gpt2.h"
#include "models/model.h"
#include "runtime/rope.h"

namespace vkllm {

struct ChatGlmConfig {
  int dim = 0, hidden = 0, n_layers = 0, n_heads = 0, vocab = 0, context = 0;
  float norm_eps = 1e-5f;
  // The GLM residual scale; 0: sqrt(2 * n_layers). Hugging Face computes it from config.json's
  // num_layers, which need not be the number of layers present.
  float alpha = 0.0f;
  // Generation: a prompt ends with [gMASK] then BOS (ChatGLM-6B: 130001, 130004).
  int32_t gmask_id = 130001, bos_id = 130004;
  int head_dim() const { return dim / n_heads; }
  float residual_alpha() const { return alpha > 0.0f ? alpha : std::sqrt(2.0f * float(n_layers)); }
  RopeConfig rope() const;  // 2D, theta 10000, over the whole head
  void validate() const;
};

// ChatGLM-6B stores query_key_value per head as [q(head_dim) k(head_dim) v(head_dim)] x heads.
// Row r of the returned order is the stored row that holds row r of [all q; all k; all v].
std::vector<int64_t> chatglm_qkv_rows(int n_heads, int head_dim);

// The same tensors as a GPT-2 block: LayerNorms with bias, biased q/k/v/o, biased GELU FFN.
using ChatGlmLayer = Gpt2Layer;

struct ChatGlmWeights {
  Weight token_embd;
  Tensor output_norm, output_norm_bias;
  Weight output;  // [vocab, dim]
  std::vector<ChatGlmLayer> layers;
};

class ChatGlmModel : public Model {
 public:
  ChatGlmModel(Device& device, ChatGlmConfig config, ChatGlmWeights weights);
  const ChatGlmConfig& config() const { return config_; }
  KvCacheConfig cache_config(int64_t capacity, KvTypes types = {}) const override;
  // Tokens up to BOS form the bidirectional prefix at positions 0, 1, ...; BOS and every token
  // after it take the [gMASK] position, with block positions 1, 2, 3, ...
  PositionPlan plan_positions(std::span<const int32_t> held, std::span<const int32_t> added, int32_t offset = 0) const override;
  bool prefix_lm() const override { return true; }
  std::vector<int32_t> prompt_suffix() const override { return {config_.gmask_id, config_.bos_id}; }

 private:
  void record(Step& s, KvCache& cache, int64_t n) override;
  AppendOrder append_order() const override { return AppendOrder::Any; }

  ChatGlmConfig config_;
  ChatGlmWeights w_;
  RopeTable rope_table_;
};

// ChatGLM-6B from any format. Its GGUF layout (vkllm's own, "chatglm6b"; llama.cpp's "chatglm"
// is ChatGLM2/3) is GPT-2's block layout with attn_qkv as [all q; all k; all v] rows (Hugging
// Face stores them per head: reordered on load, chatglm_qkv_rows), chatglm6b.residual_alpha
// (default sqrt(2 * blocks)) and chatglm6b.gmask_token_id with tokenizer.ggml.bos_token_id for
// the generation scheme. The layers are those the file holds; the residual scale counts
// block_count (Hugging Face's num_layers), which may be more.
std::unique_ptr<Model> load_chatglm6b(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

}  // namespace vkllm
