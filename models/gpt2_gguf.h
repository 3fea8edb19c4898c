#pragma once
// GPT-2 from GGUF (llama.cpp's "gpt2" tensor names and metadata).
#include <memory>

#include "models/gguf.h"
#include "models/gpt2.h"

namespace vkllm {

std::unique_ptr<Gpt2Model> load_gpt2_gguf(Device& device, const GgufFile& file);

}  // namespace vkllm
