#pragma once
// Lookup tables for large vocabularies (Gemma 3: 262k tokens, 515k merges), built in one pass
// with open addressing: no allocation per entry and no lookups while building, which keeps
// loading a tokenizer fast.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkllm {

// Token text -> id. Holds its own copy of the texts in one buffer.
class TokenIndex {
 public:
  TokenIndex() = default;
  explicit TokenIndex(const std::vector<std::string>& tokens);  // empty texts are not indexed
  int32_t find(std::string_view text) const;                    // -1 when absent; the first of duplicates wins

 private:
  struct Slot {
    uint32_t hash, offset, length;
    int32_t id = -1;
  };
  std::string chars_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

// (left text, right text) -> the pair's rank in a merge list. Keyed by the texts' hashes and
// checked against the list, which the caller keeps and passes in.
class MergeIndex {
 public:
  using Merges = std::vector<std::pair<std::string, std::string>>;
  MergeIndex() = default;
  explicit MergeIndex(const Merges& merges);  // a repeated pair keeps its first rank
  std::optional<int32_t> rank(std::string_view left, std::string_view right, const Merges& merges) const;

 private:
  struct Slot {
    uint64_t key;
    int32_t rank = -1;
  };
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace vkllm
