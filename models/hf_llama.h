#pragma once
// Hugging Face model directories of the Llama family (LlamaForCausalLM, MistralForCausalLM,
// Qwen2ForCausalLM): config.json plus model.safetensors or shards listed in
// model.safetensors.index.json. Hugging Face keeps q/k projections in rotate_half order, so
// these models rotate with the half-split pairing (GGUF conversion permutes them instead).
#include <memory>
#include <string>

#include "models/llama.h"

namespace vkllm {

bool is_hf_directory(const std::string& path);
std::unique_ptr<LlamaModel> load_hf_llama(Device& device, const std::string& dir);

}  // namespace vkllm
