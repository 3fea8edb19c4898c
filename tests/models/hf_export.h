#pragma once
// A GGUF model (F32 tensors) written as a Hugging Face directory the way transformers saves
// one: the architecture description's Hugging Face names and layouts (Gemma's norms as w where
// GGUF holds 1 + w), config.json from the description's keys, one model.safetensors.
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "models/arch.h"

namespace vkllm::test {

struct HfExport {
  std::string hf_class;
  bool bf16_values = false;           // every stored value rounded to BF16
  bool bf16_storage = false;          // and stored as BF16 (else F32)
  ArchDescription::HfRename rename;   // of the start of every tensor name that has it ("" -> "language_model.")
  bool text_config = false;           // hyperparameters nested under "text_config"
  std::string drop;                   // a tensor left out (its GGUF name)
  size_t hf_alternative = 0;          // which of a name's '|' alternatives to write (the last where fewer)
  size_t config_alternative = 0;      // the same for config.json's keys
  nlohmann::json extra_config = nlohmann::json::object();  // merged into config.json's values
};

// Returns the directory (temp_path(label)).
std::filesystem::path write_hf_from_gguf(const std::string& gguf_path, const std::string& label, const HfExport& e);

}  // namespace vkllm::test
