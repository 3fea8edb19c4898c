#include "host/research/score_cases.h"

#include <algorithm>
#include <cstdint>
#include <random>

#include "runtime/error.h"

namespace vkllm {

namespace {

using nlohmann::json;

// A token id as a 32-bit integer: a larger number is refused, not wrapped to another id.
int32_t id_of(const json& v, const char* key) {
  if (!v.is_number_integer()) throw Error(std::string("field '") + key + "' holds a non-integer");
  const bool fits = v.is_number_unsigned() ? v.get<uint64_t>() <= uint64_t(INT32_MAX)
                                           : v.get<int64_t>() >= INT32_MIN && v.get<int64_t>() <= INT32_MAX;
  if (!fits) throw Error(std::string("field '") + key + "' holds " + v.dump() + ", which is no token id");
  return v.get<int32_t>();
}

std::vector<int32_t> ids_of(const json& j, const char* key) {
  if (!j.contains(key)) throw Error(std::string("missing field '") + key + "'");
  if (!j[key].is_array()) throw Error(std::string("field '") + key + "' must be an array of token ids or a string");
  std::vector<int32_t> out;
  for (const auto& v : j[key]) out.push_back(id_of(v, key));
  return out;
}

std::string text_of(const json& j, const char* key) {
  if (!j.contains(key) || !j[key].is_string()) throw Error(std::string("missing text field '") + key + "'");
  return j[key].get<std::string>();
}

// The case under `prefix` (a JSON string or id array; null: none).
ScoreCase parse_case(const json& j, const json& prefix_value, const Tokenizer* tok) {
  ScoreCase c;
  c.id = j.contains("id") ? (j["id"].is_string() ? j["id"].get<std::string>() : j["id"].dump()) : "";
  const json holder = json{{"prefix", prefix_value.is_null() ? json::array() : prefix_value}};
  if (j.contains("document") && j["document"].is_string()) {  // text level
    if (!tok) throw Error("text cases need a model with a tokenizer");
    const std::string prefix = prefix_value.is_null() ? "" : text_of(holder, "prefix");
    return tokenize_case(*tok, {c.id, prefix, text_of(j, "document"), text_of(j, "query"), text_of(j, "answer")});
  }
  if (!j.contains("bos") || !(j["bos"].is_number_integer() || j["bos"].is_null()))
    throw Error("missing field 'bos' (a token id, or null for none)");
  c.bos = j["bos"].is_null() ? -1 : id_of(j["bos"], "bos");
  c.prefix = ids_of(holder, "prefix");
  c.document = ids_of(j, "document");
  c.query = ids_of(j, "query");
  c.answer = ids_of(j, "answer");
  return c;
}

}  // namespace

std::vector<ScoreVariant> score_variants(const json& j, const Tokenizer* tok, const std::optional<RandomPrefix>& random,
                                         int line) {
  if (!j.is_object()) throw Error("a case must be a JSON object");
  std::vector<ScoreVariant> v;
  v.push_back({"prefix", parse_case(j, j.contains("prefix") ? j["prefix"] : json(), tok)});
  if (j.contains("prefixes")) {
    if (!j["prefixes"].is_object()) throw Error("field 'prefixes' must be an object of named prefixes");
    for (const auto& [name, value] : j["prefixes"].items()) v.push_back({name, parse_case(j, value, tok)});
  }
  if (random) {  // the control: seeded random tokens, as many as the case's own prefix
    ScoreVariant r{"random", v.front().c};
    std::vector<int32_t> reserved = random->reserved;
    reserved.push_back(r.c.bos);
    bool any_allowed = false;
    for (int32_t t = 0; t < random->vocab && !any_allowed; ++t)
      any_allowed = std::find(reserved.begin(), reserved.end(), t) == reserved.end();
    if (!r.c.prefix.empty() && !any_allowed) throw Error("no token id is left for a random prefix");
    std::mt19937 rng(random->seed ^ (uint32_t(line) * 2654435761u));
    std::uniform_int_distribution<int32_t> token(0, std::max(random->vocab, 1) - 1);
    for (auto& t : r.c.prefix)
      do t = token(rng);
      while (std::find(reserved.begin(), reserved.end(), t) != reserved.end());
    v.push_back(std::move(r));
  }
  return v;
}

}  // namespace vkllm
