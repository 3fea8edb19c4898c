#include "host/tokenizer/token_index.h"

#include <functional>

#include "runtime/error.h"

namespace vkllm {

namespace {

size_t capacity_for(size_t n) {  // a power of two at most half full
  size_t c = 16;
  while (c < 2 * n) c *= 2;
  return c;
}

constexpr size_t kPrefetchAhead = 16;  // inserts between asking for a slot and writing it

uint64_t hash_of(std::string_view s) { return std::hash<std::string_view>{}(s); }

uint64_t pair_key(std::string_view left, std::string_view right) {
  uint64_t x = hash_of(left) * 0x9e3779b97f4a7c15ull ^ hash_of(right);
  x ^= x >> 29;  // spread the mix into the low bits the table indexes by
  return x * 0xbf58476d1ce4e5b9ull;
}

}  // namespace

TokenIndex::TokenIndex(const std::vector<std::string>& tokens) {
  size_t total = 0;
  for (const auto& t : tokens) total += t.size();
  require(total < (uint64_t(1) << 32), "tokenizer: the vocabulary's texts exceed 4 GiB");
  chars_.reserve(total);
  slots_.resize(capacity_for(tokens.size()));
  mask_ = slots_.size() - 1;
  std::vector<uint64_t> hashes(tokens.size());  // first, so that inserts can prefetch (see MergeIndex)
  for (size_t id = 0; id < tokens.size(); ++id) hashes[id] = hash_of(tokens[id]);
  for (size_t id = 0; id < tokens.size(); ++id) {
    if (id + kPrefetchAhead < tokens.size()) __builtin_prefetch(&slots_[hashes[id + kPrefetchAhead] & mask_], 1);
    const std::string& text = tokens[id];
    if (text.empty()) continue;
    const uint64_t h = hashes[id];
    for (size_t s = h & mask_;; s = (s + 1) & mask_) {
      Slot& slot = slots_[s];
      if (slot.id < 0) {
        slot = {uint32_t(h), uint32_t(chars_.size()), uint32_t(text.size()), int32_t(id)};
        chars_.append(text);
        break;
      }
      if (slot.hash == uint32_t(h) && std::string_view(chars_).substr(slot.offset, slot.length) == text) break;  // the first stays
    }
  }
}

int32_t TokenIndex::find(std::string_view text) const {
  if (slots_.empty()) return -1;
  const uint64_t h = hash_of(text);
  for (size_t s = h & mask_;; s = (s + 1) & mask_) {
    const Slot& slot = slots_[s];
    if (slot.id < 0) return -1;
    if (slot.hash == uint32_t(h) && slot.length == text.size() && std::string_view(chars_).substr(slot.offset, slot.length) == text) return slot.id;
  }
}

MergeIndex::MergeIndex(const Merges& merges) {
  if (merges.empty()) return;
  slots_.resize(capacity_for(merges.size()));
  mask_ = slots_.size() - 1;
  // The keys first, then the inserts with the slot a few merges ahead already on its way from
  // memory: a table this size misses the cache on nearly every insert.
  std::vector<uint64_t> keys(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) keys[r] = pair_key(merges[r].first, merges[r].second);
  for (size_t r = 0; r < merges.size(); ++r) {
    if (r + kPrefetchAhead < merges.size()) __builtin_prefetch(&slots_[keys[r + kPrefetchAhead] & mask_], 1);
    const uint64_t key = keys[r];
    for (size_t s = key & mask_;; s = (s + 1) & mask_) {
      Slot& slot = slots_[s];
      if (slot.rank < 0) {
        slot = {key, int32_t(r)};
        break;
      }
      if (slot.key == key && merges[size_t(slot.rank)] == merges[r]) break;  // a repeat: the first rank stays
    }
  }
}

std::optional<int32_t> MergeIndex::rank(std::string_view left, std::string_view right, const Merges& merges) const {
  if (slots_.empty()) return std::nullopt;
  const uint64_t key = pair_key(left, right);
  for (size_t s = key & mask_;; s = (s + 1) & mask_) {
    const Slot& slot = slots_[s];
    if (slot.rank < 0) return std::nullopt;
    if (slot.key != key) continue;
    const auto& [l, r] = merges[size_t(slot.rank)];
    if (l == left && r == right) return slot.rank;
  }
}

}  // namespace vkllm
