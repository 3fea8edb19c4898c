#include "tests/models/safetensors_writer.h"

#include <fstream>

#include <nlohmann/json.hpp>

namespace vkllm::test {

void write_safetensors(const std::filesystem::path& path, const std::vector<SafetensorEntry>& entries) {
  nlohmann::json header = nlohmann::json::object();
  uint64_t offset = 0;
  for (const auto& e : entries) {
    header[e.name] = {{"dtype", e.dtype}, {"shape", e.shape}, {"data_offsets", {offset, offset + e.bytes.size()}}};
    offset += e.bytes.size();
  }
  const std::string text = header.dump();
  const uint64_t n = text.size();
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(&n), 8);
  out << text;
  for (const auto& e : entries) out << e.bytes;
}

}  // namespace vkllm::test
