#pragma once
// Writes safetensors files for tests that build Hugging Face directories.
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vkllm::test {

struct SafetensorEntry {
  std::string name, dtype;
  std::vector<int64_t> shape;
  std::string bytes;
};

void write_safetensors(const std::filesystem::path& path, const std::vector<SafetensorEntry>& entries);

}  // namespace vkllm::test
