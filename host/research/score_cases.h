#pragma once
// The cases of `vkllm score`: one JSON object per line of a JSONL file. Token-level cases give
// ids ("bos": an id or null, "prefix", "document", "query", "answer": id arrays); text-level
// cases give strings ("document" a string) that the model's tokenizer encodes (tokenize_case).
// "id" names the case; "prefixes" ({name: prefix}) scores it under more prefixes.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/research/score.h"

namespace vkllm {

class Tokenizer;

// One case under one prefix: "prefix" for the case's own, a name from "prefixes", or "random".
struct ScoreVariant {
  std::string prefix_name;
  ScoreCase c;
};

// The control of --random-prefix: seeded random ids below `vocab`, as many as the case's own
// prefix, none of them BOS or a `reserved` id (the model's prompt suffix).
struct RandomPrefix {
  uint32_t seed = 0;
  int vocab = 0;
  std::vector<int32_t> reserved;
};

// The variants of the case on line `line` (which seeds the random prefix). Errors name the
// field that is missing or of the wrong type; `tokenizer` may be null (text cases then fail).
std::vector<ScoreVariant> score_variants(const nlohmann::json& j, const Tokenizer* tokenizer,
                                         const std::optional<RandomPrefix>& random, int line);

}  // namespace vkllm
