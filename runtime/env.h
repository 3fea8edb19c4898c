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

}  // namespace vkllm
