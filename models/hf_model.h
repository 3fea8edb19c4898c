#pragma once
// Hugging Face model directories: config.json plus model.safetensors or the shards listed in
// model.safetensors.index.json. The Llama family (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM) keeps q/k projections in rotate_half order, so these models rotate with the
// half-split pairing (GGUF conversion permutes them instead). GPT2LMHeadModel stores its
// Conv1D matrices [in, out]: they are transposed on load. ChatGLM-6B (ChatGLMModel with
// position_encoding_2d) stores q/k/v per head: reordered on load.
#include <memory>
#include <string>

#include "models/model.h"

namespace vkllm {

bool is_hf_directory(const std::string& path);
std::unique_ptr<Model> load_hf_model(Device& device, const std::string& dir);

}  // namespace vkllm
