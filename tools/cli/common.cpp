#include <cstdio>
#include <cstdlib>

#include "runtime/error.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

const char* yes(bool b) { return b ? "yes" : "no"; }

std::vector<int32_t> parse_tokens(const std::string& list) {
  std::vector<int32_t> out;
  size_t at = 0;
  while (at < list.size()) {
    const size_t comma = list.find(',', at);
    const std::string item = list.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    char* end = nullptr;
    const long v = std::strtol(item.c_str(), &end, 10);
    if (item.empty() || *end != '\0' || v < 0 || v > INT32_MAX) throw Error("--tokens: '" + item + "' is not a token id");
    out.push_back(int32_t(v));
    if (comma == std::string::npos) break;
    at = comma + 1;
  }
  if (out.empty()) throw Error("--tokens: no token ids given");
  return out;
}

}  // namespace vkllm::cli
