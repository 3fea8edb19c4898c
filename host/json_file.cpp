#include "host/json_file.h"

#include <cstdio>
#include <filesystem>
#include <memory>

#include "runtime/error.h"

namespace vkllm {

nlohmann::json read_json_file(const std::string& path) {
  const std::string text = read_text_file(path);
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": not valid JSON (" + e.what() + ")");
  }
}

std::string read_text_file(const std::string& path) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw Error("cannot open " + path);
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) throw Error("cannot read " + path + " (" + ec.message() + ")");
  std::string text(size, '\0');
  if (std::fread(text.data(), 1, size, f.get()) != size) throw Error("cannot read " + path);
  return text;
}

void merge_json(nlohmann::json& base, const nlohmann::json& overrides) {
  if (!base.is_object() || !overrides.is_object()) {
    base = overrides;
    return;
  }
  for (const auto& [key, value] : overrides.items()) merge_json(base[key], value);
}

}  // namespace vkllm
