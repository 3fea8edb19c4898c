#pragma once
// The merge loop both BPE flavours share: the text starts as one symbol per UTF-8 character,
// and the adjacent pair with the best rank (lowest; ties go to the leftmost) is merged until no
// adjacent pair has a rank.
#include <functional>
#include <optional>
#include <string_view>
#include <vector>

namespace vkllm {

using PairRank = std::function<std::optional<double>(std::string_view left, std::string_view right)>;

std::vector<std::string_view> merge_pairs(std::string_view text, const PairRank& rank);

}  // namespace vkllm
