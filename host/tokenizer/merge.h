#pragma once
// The merge loop both BPE flavours share: the text starts as one symbol per UTF-8 character,
// and the adjacent pair with the best rank (lowest; ties go to the leftmost) is merged until no
// adjacent pair merges.
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace vkllm {

struct Symbol {
  std::string_view text;
  int32_t id;  // -1: not in the vocabulary
};

struct PairMerge {
  double rank;
  int32_t id;  // the merged symbol's
};

// id_of(text): a character's id or -1. merge(left, right, merged text): the rank and id of the
// pair's merge, if it has one.
using IdOf = std::function<int32_t(std::string_view text)>;
using MergeOf = std::function<std::optional<PairMerge>(const Symbol& left, const Symbol& right, std::string_view merged)>;

std::vector<Symbol> merge_pairs(std::string_view text, const IdOf& id_of, const MergeOf& merge);

}  // namespace vkllm
