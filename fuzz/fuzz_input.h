#pragma once
// The fuzzed bytes as a file (or a file in a folder), for parsers that open paths: one path
// per process, rewritten for every input.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <unistd.h>

namespace vkllm::fuzz {

inline std::string write_input(const std::string& name, const uint8_t* data, size_t size) {
  const auto dir = std::filesystem::temp_directory_path() / ("vkllm-fuzz-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / name).string();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) return path;
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace vkllm::fuzz
