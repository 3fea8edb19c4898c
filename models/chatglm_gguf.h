#pragma once
// ChatGLM-6B (v1) from GGUF. llama.cpp has no layout for it (its "chatglm" is ChatGLM2/3), so
// vkllm defines one, architecture "chatglm6b":
//   chatglm6b.context_length, .embedding_length, .feed_forward_length, .block_count,
//   .attention.head_count, .attention.layer_norm_epsilon            (as for gpt2)
//   chatglm6b.residual_alpha   f32, optional: the GLM residual scale (default sqrt(2 * blocks))
//   tokenizer.ggml.bos_token_id, chatglm6b.gmask_token_id           (the generation scheme)
//   tensors: token_embd, output_norm(.bias), output, and per block the GPT-2 block layout
//   (attn_norm, attn_qkv, attn_output, ffn_norm, ffn_up, ffn_down, weights and biases).
//   attn_qkv holds [all q; all k; all v] rows: converters reorder Hugging Face's per-head
//   [q k v] rows (chatglm_qkv_rows).
#include <memory>

#include "models/chatglm.h"
#include "models/gguf.h"

namespace vkllm {

std::unique_ptr<ChatGlmModel> load_chatglm_gguf(Device& device, const GgufFile& file);

}  // namespace vkllm
