#include "runtime/env.h"

#include <cstdlib>

#include "runtime/error.h"

namespace vkllm {

std::optional<std::string> env_string(const char* name) {
  const char* v = std::getenv(name);
  if (!v) return std::nullopt;
  return std::string(v);
}

bool env_flag(const char* name) {
  auto v = env_string(name);
  return v && !v->empty() && *v != "0" && *v != "false" && *v != "off";
}

std::optional<uint64_t> env_u64(const char* name) {
  auto v = env_string(name);
  if (!v || v->empty()) return std::nullopt;
  char* end = nullptr;
  unsigned long long x = std::strtoull(v->c_str(), &end, 0);
  if (*end != '\0') throw Error(std::string(name) + "='" + *v + "' is not an unsigned integer");
  return x;
}

}  // namespace vkllm
