#pragma once
// Cache files: a sequence's whole KV state (every layer's K/V rows as stored, positions, block
// positions, the cross-attention part) with what its owner keeps beside it (the tokens), so a
// prompt computed once can be reused by later processes.
//
// Format, version 1, little-endian:
//   header (80 bytes): "vkllm-kv", u32 version, u32 types (K's in the low 16 bits, V's in the
//     high 16 or 0 where it is K's; 1 f32, 2 f16, 3 q8_0, 4 q4_0), u64 model
//     fingerprint, u64 layout hash (each layer's RoPE and window), u32 layers, u32 kv heads,
//     u32 head_dim, u32 flags (1: 2D RoPE, 2: cross-attention part), u64 entries, u64 cross
//     entries, u64 tokens, u64 encoder tokens
//   i32 arrays: positions, block positions (2D RoPE only), cross positions, tokens, encoder tokens
//   per layer K rows then V rows ([entries, kv heads * head_dim] values as stored), then the same for
//     the cross-attention part
//   u64 checksum: Hash64 of every byte before it
// Loading checks all of it (length, checksum, model, dtype, layout, capacity) before it
// changes anything.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/kv_cache.h"  // KvTypes

namespace vkllm {

class KvCache;

struct CacheFileRecord {
  uint64_t model_fingerprint = 0;       // Model::fingerprint() of the model that computed the cache
  std::vector<int32_t> tokens;          // the sequence's tokens, as its owner counts them
  std::vector<int32_t> encoder_tokens;  // encoder-decoder models: the encoder's input
};

// Writes to a temporary file beside `path` and renames it over `path`, so that a failed save
// never leaves a partial file under that name.
void save_cache_file(const std::string& path, const KvCache& cache, const CacheFileRecord& record);

// What a cache must be to take a file: its model, K/V types, shape, each layer's RoPE and window
// (layout_hash), and room for the entries.
struct CacheFileTarget {
  uint64_t model_fingerprint = 0, layout_hash = 0;
  KvTypes types;
  uint32_t n_layers = 0, n_kv_heads = 0, head_dim = 0;
  bool two_d = false, cross = false;  // ChatGLM-6B's block positions; a cross-attention part
  uint64_t capacity = 0, cross_capacity = 0;
};
CacheFileTarget cache_file_target(const KvCache& cache, uint64_t model_fingerprint);

// What a file's header declares, with its entries as the capacities (nothing else checked), to
// size a cache that will load it; nullopt where the file cannot be read as one (loading then
// says why).
std::optional<CacheFileTarget> cache_file_declared(const std::string& path);

// A cache file's contents but the K/V rows, after every check that needs no device: magic,
// version, length, checksum, each field against `target`, positions.
struct CacheFileContents {
  std::vector<int32_t> positions, block_positions, cross_positions;
  CacheFileRecord record;
  uint64_t rows_offset = 0;  // where the K/V rows start in the file
};
CacheFileContents read_cache_file(const std::string& path, const CacheFileTarget& target);

// Replaces `cache`'s contents with the file's and returns its record. Errors name the problem
// (not a cache file, another version, truncated, corrupt, another model, other K/V types or
// layout, more entries than the cache holds) and leave the cache as it was.
CacheFileRecord load_cache_file(const std::string& path, KvCache& cache, uint64_t model_fingerprint);

}  // namespace vkllm
