#pragma once
// Environment switches. Every VKLLM_* variable the engine reads goes through these helpers,
// so a malformed value is an error naming the variable rather than a silent default.
#include <cstdint>
#include <optional>
#include <string>

namespace vkllm {

std::optional<std::string> env_string(const char* name);
bool env_flag(const char* name);  // set and not "0"/"false"/"" -> true
std::optional<uint64_t> env_u64(const char* name);

// A byte count: digits with an optional K, M, G or T suffix (binary: 1K = 1024), e.g. "512M".
// Throws an Error naming `what` for anything else.
uint64_t parse_bytes(const std::string& text, const std::string& what);
std::optional<uint64_t> env_bytes(const char* name);

}  // namespace vkllm
