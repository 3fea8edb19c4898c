#include "host/engine/context_shift.h"

#include <algorithm>
#include <charconv>

#include "runtime/error.h"
#include "runtime/kv_cache.h"

namespace vkllm {

ContextShift ContextShift::parse(std::string_view spec) {
  ContextShift c;
  auto fail = [&](const std::string& why) {
    throw Error("--context-shift '" + std::string(spec) + "': " + why + " (expected sinks=N,keep=N,positions=shift|cache)");
  };
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view{} : spec.substr(comma + 1);
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) fail("'" + std::string(item) + "' is not name=value");
    const std::string_view name = item.substr(0, eq), value = item.substr(eq + 1);
    if (name == "positions") {
      if (value == "shift")
        c.positions = Positions::Shift;
      else if (value == "cache")
        c.positions = Positions::InCache;
      else
        fail("positions is shift or cache, not '" + std::string(value) + "'");
      continue;
    }
    int64_t n = -1;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
    if (ec != std::errc() || end != value.data() + value.size() || n < 0) fail("'" + std::string(value) + "' is not a count");
    if (name == "sinks")
      c.sinks = n;
    else if (name == "keep")
      c.keep = n;
    else
      fail("no setting '" + std::string(name) + "'");
  }
  return c;
}

std::string ContextShift::describe() const {
  return "sinks=" + std::to_string(sinks) + ",keep=" + (keep > 0 ? std::to_string(keep) : std::string("half")) +
         ",positions=" + (positions == Positions::Shift ? "shift" : "cache");
}

std::vector<int64_t> ContextShift::kept_slots(int64_t held, int64_t incoming, int64_t capacity) const {
  const int64_t kept_sinks = std::min(sinks, held);
  const int64_t room = capacity - incoming - kept_sinks;  // for recent entries
  if (room < 0)
    throw Error("context shift: " + std::to_string(incoming) + " new tokens do not fit beside " + std::to_string(kept_sinks) +
                " attention sinks in a cache of " + std::to_string(capacity));
  const int64_t after = held - kept_sinks;
  const int64_t recent = std::min({keep > 0 ? keep : after / 2, room, after});
  std::vector<int64_t> slots;
  for (int64_t s = 0; s < kept_sinks; ++s) slots.push_back(s);
  for (int64_t s = held - recent; s < held; ++s) slots.push_back(s);
  return slots;
}

void ContextShift::reposition(KvCache& cache, int64_t dropped) const {
  const int64_t n = cache.size(), first = std::min(sinks, n);
  if (positions == Positions::Shift) {
    if (dropped > 0) cache.reposition(first, n - first, -int32_t(dropped));
    return;
  }
  // Each run of entries that moves by one delta, re-rotated at once.
  for (int64_t i = 0; i < n;) {
    const int64_t delta = i - int64_t(cache.positions()[size_t(i)]);
    int64_t end = i + 1;
    while (end < n && end - int64_t(cache.positions()[size_t(end)]) == delta) ++end;
    if (delta != 0) cache.reposition(i, end - i, int32_t(delta));
    i = end;
  }
}

}  // namespace vkllm
