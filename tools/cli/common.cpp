#include <cstdio>
#include <cstdlib>
#include <map>

#include "runtime/error.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

const char* yes(bool b) { return b ? "yes" : "no"; }

std::function<bool()> add_cache_type_options(CLI::App* sub, KvTypes& types) {
  const std::map<std::string, DType> names{{"f32", DType::F32}, {"f16", DType::F16}, {"q8_0", DType::Q8_0}, {"q4_0", DType::Q4_0}};
  const char* help = " rows: f32, f16, q8_0 or q4_0 (q8_0/q4_0 need kv heads x head_dim to be a multiple of 32)";
  CLI::Option* k = sub->add_option("--cache-type-k", types.k, std::string("KV cache K") + help)
                       ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
                       ->default_str(dtype_name(types.k));
  CLI::Option* v = sub->add_option("--cache-type-v", types.v, std::string("KV cache V") + help)
                       ->transform(CLI::CheckedTransformer(names, CLI::ignore_case))
                       ->default_str(dtype_name(types.v));
  return [k, v] { return k->count() + v->count() > 0; };
}

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
