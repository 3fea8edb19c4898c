// Cache files (vkllm run --prompt-cache, vkllm_sequence_load): the header, the length, the
// checksum, the fit to a cache and the positions, as loading reads them before it touches a
// device. The input's last 8 bytes are replaced by its checksum first, so that mutations reach
// past the checksum check (whose refusals the unit tests cover byte by byte); it is then read
// against the cache its header declares (so every count is used) and against a cache of another
// shape (so the refusals run too).
#include <cstring>
#include <vector>

#include "fuzz/fuzz_input.h"
#include "runtime/error.h"
#include "runtime/hash.h"
#include "runtime/kv_cache_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<uint8_t> bytes(data, data + size);
  if (bytes.size() >= 8) {
    vkllm::Hash64 sum;
    sum.add(bytes.data(), bytes.size() - 8);
    const uint64_t v = sum.value();
    std::memcpy(bytes.data() + bytes.size() - 8, &v, 8);
  }
  const std::string path = vkllm::fuzz::write_input("cache.bin", bytes.data(), bytes.size());
  vkllm::CacheFileTarget other;
  other.n_layers = 2, other.n_kv_heads = 2, other.head_dim = 16, other.capacity = 64;
  std::vector<vkllm::CacheFileTarget> targets{other};
  if (auto declared = vkllm::cache_file_declared(path)) targets.push_back(*declared);
  for (const vkllm::CacheFileTarget& target : targets) {
    try {
      vkllm::read_cache_file(path, target);
    } catch (const vkllm::Error&) {
    }
  }
  return 0;
}
