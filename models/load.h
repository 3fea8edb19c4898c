#pragma once
// Opens a model by its contents: a Hugging Face directory (config.json), a GGUF file (magic
// "GGUF") or a llama2.c checkpoint.
#include <memory>
#include <optional>
#include <string>

#include "host/tokenizer.h"
#include "models/model.h"

namespace vkllm {

struct LoadedModel {
  std::unique_ptr<Model> model;
  std::optional<Tokenizer> tokenizer;  // absent where the file carries none (llama2.c checkpoints)
};

LoadedModel load_model(Device& device, const std::string& path);

// Only the tokenizer (no device, no weights); a GGUF holding just a vocabulary is fine. Error
// when the file has none.
Tokenizer load_tokenizer(const std::string& path);

}  // namespace vkllm
