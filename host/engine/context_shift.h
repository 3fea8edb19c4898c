#pragma once
// Eviction for sequences longer than their cache: attention sinks plus a recent window
// (StreamingLLM; llama.cpp's context shift), with the moved keys re-rotated on the GPU.
//
// When an append would pass the cache's room, the first `sinks` entries stay, the most recent
// `keep` stay after them, and the rest go. What the kept entries' positions become:
//   Shift (llama.cpp's context shift): the entries after the dropped ones move back by as many
//     positions as were dropped; the next token follows the last.
//   InCache (StreamingLLM): every entry's position is its index in the cache, closing any gap
//     (also gaps an earlier select left).
// On a contiguous sequence both give positions 0..n-1. Either way the keys are re-rotated with
// each layer's own RoPE (KvCache::reposition), so the cache equals one computed at the new
// positions; keys stored below f32 rotate from their anchors and do not drift.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vkllm {

class KvCache;

struct ContextShift {
  int64_t sinks = 4;  // entries at the start that are never dropped
  int64_t keep = 0;   // recent entries kept after the sinks; 0: half of those after the sinks
  enum class Positions { Shift, InCache } positions = Positions::Shift;

  // "sinks=4,keep=256,positions=shift|cache" (any of the three; the others keep their defaults).
  static ContextShift parse(std::string_view spec);
  std::string describe() const;

  // The slots kept when `held` entries must make room for `incoming` more in `capacity`, in
  // order: the sinks, then the most recent. Error where the incoming ones do not fit beside
  // the sinks.
  std::vector<int64_t> kept_slots(int64_t held, int64_t incoming, int64_t capacity) const;
  // After cache.select(kept_slots(...)) dropped `dropped` entries after the sinks: re-rotates
  // the kept ones to their new positions.
  void reposition(KvCache& cache, int64_t dropped) const;
};

}  // namespace vkllm
