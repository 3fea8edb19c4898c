#pragma once
// Opens a model file by its contents: GGUF (magic "GGUF") or a llama2.c checkpoint.
#include <memory>
#include <string>

#include "models/llama.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_model(Device& device, const std::string& path);

}  // namespace vkllm
