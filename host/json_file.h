#pragma once
// Reads a JSON file (Hugging Face config.json, tokenizer.json, ...); Error naming the file when
// it is missing or malformed.
#include <string>

#include <nlohmann/json.hpp>

namespace vkllm {

nlohmann::json read_json_file(const std::string& path);
std::string read_text_file(const std::string& path);  // the whole file; Error naming it when unreadable
// `overrides` over `base`: objects merged key by key, anything else (null included, which
// config.json uses for "off") replacing what was there.
void merge_json(nlohmann::json& base, const nlohmann::json& overrides);

}  // namespace vkllm
