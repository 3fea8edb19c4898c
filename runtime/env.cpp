#include "runtime/env.h"

#include <cctype>
#include <cstdlib>
#include <cstring>

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

uint64_t parse_bytes(const std::string& text, const std::string& what) {
  size_t digits = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') ++digits;
  std::string suffix = text.substr(digits);
  for (const char* tail : {"iB", "B"})  // "M", "MB" and "MiB" all mean 2^20
    if (suffix.size() > 1 && suffix.ends_with(tail)) {
      suffix.resize(suffix.size() - std::strlen(tail));
      break;
    }
  const std::string units = "KMGT";
  const size_t unit = suffix.size() == 1 ? units.find(char(std::toupper(static_cast<unsigned char>(suffix[0])))) : 0;
  const int shift = suffix.empty() ? 0 : unit == std::string::npos || suffix.size() != 1 ? -1 : 10 * int(unit + 1);
  if (digits == 0 || digits > 15 || shift < 0)
    throw Error(what + "='" + text + "' is not a byte count (digits with an optional K, M, G or T suffix)");
  const uint64_t value = std::stoull(text.substr(0, digits));
  if (value > (UINT64_MAX >> shift)) throw Error(what + "='" + text + "' is more bytes than 64 bits count");
  return value << shift;
}

std::optional<uint64_t> env_bytes(const char* name) {
  auto v = env_string(name);
  if (!v || v->empty()) return std::nullopt;
  return parse_bytes(*v, name);
}

}  // namespace vkllm
