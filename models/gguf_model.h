#pragma once
// Models from GGUF files in llama.cpp's conventions: the architecture general.architecture
// names (llama, qwen2, gpt2, chatglm6b), its hyperparameters from "{arch}." metadata and its
// tensors as stored (Q8_0 projections kept for their kernel, other quantized types widened).
#include <memory>

#include "models/chatglm.h"
#include "models/gguf.h"
#include "models/gpt2.h"
#include "models/llama.h"
#include "models/model.h"
#include "models/source.h"

namespace vkllm {

std::unique_ptr<Model> load_gguf_model(Device& device, const GgufFile& file);

// The file's hyperparameters as an architecture's loader reads them.
std::unique_ptr<Hyperparameters> gguf_hyperparameters(const GgufFile& file, const ArchDescription& arch);

// The same, refusing other architectures by name, for callers that need the concrete model.
std::unique_ptr<LlamaModel> load_llama_gguf(Device& device, const GgufFile& file);  // llama, qwen2
std::unique_ptr<Gpt2Model> load_gpt2_gguf(Device& device, const GgufFile& file);
std::unique_ptr<ChatGlmModel> load_chatglm_gguf(Device& device, const GgufFile& file);

}  // namespace vkllm
