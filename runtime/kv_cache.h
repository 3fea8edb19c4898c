#pragma once
// The KV cache as a first-class GPU object: append, select, reposition, fork, clear and
// readback, all done on the GPU, with the position bookkeeping that keeps them correct.
//
// Layout: per layer, K and V are [capacity, n_kv_heads * head_dim] rows, one row per slot
// (token-major, like the K/V projections that fill them). Appending is a contiguous row copy,
// selecting a row gather, and each head's part of a row is head_dim contiguous values, so
// attention reads whole cache lines. Slots [0, size()) are filled, in the order their tokens
// were appended (or selected); positions() gives each slot's RoPE position.
//
// Sliding-window layers (Gemma style) keep every entry and mask the old ones in attention, so
// all layers always hold the same slots and select/reposition treat them alike.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "runtime/rope.h"
#include "runtime/tensor.h"

namespace vkllm {

class Device;
class Graph;

// The storage types of a cache's K rows and V rows, each F32, F16 (which needs 16-bit storage
// buffers, Capabilities::f16_storage; without them the cache holds F32), Q8_0 or Q4_0 (blocks
// of 32 values, so kv heads * head_dim must be a multiple of 32; runtime/tensor.h).
struct KvTypes {
  DType k = DType::F32, v = DType::F32;
  KvTypes() = default;
  KvTypes(DType both) : k(both), v(both) {}  // NOLINT(google-explicit-constructor): the common case
  KvTypes(DType k_type, DType v_type) : k(k_type), v(v_type) {}
  bool operator==(const KvTypes&) const = default;
  std::string describe() const;  // "q8_0", or "K q8_0, V f16"
};

struct KvCacheConfig {
  int n_layers = 0;
  int64_t capacity = 0;
  int n_kv_heads = 0;
  int head_dim = 0;
  KvTypes types;
  // The keys' rotary embedding; none (GPT-2, learned positions) makes reposition an error.
  std::optional<RopeConfig> rope;
  // Per layer, where layers rotate differently (Gemma 3: base 10000 on sliding layers, 1e6 with
  // linear scaling on global ones): one entry per layer, each with rope's head_dim and
  // position streams. Empty: every layer uses rope.
  std::vector<RopeConfig> layer_rope;
  // Per layer: attention window in positions (0 = full). Empty: every layer is full.
  std::vector<int> sliding_window;
  // Encoder-decoder models: slots of the cross-attention cache (one per encoder position),
  // held with this one as the sequence's state; 0: none.
  int64_t cross_capacity = 0;
};

// How a new entry's position must relate to the cached ones.
enum class AppendOrder {
  Increasing,  // each position greater than every cached one (refuses the one-token look-ahead bug)
  Any,         // explicitly allowed: repeated or lower positions (ChatGLM-6B generation)
};

class KvCache {
 public:
  KvCache(Device& device, KvCacheConfig config);
  KvCache(const KvCache&) = delete;  // a copy would alias the storage: use fork()
  KvCache& operator=(const KvCache&) = delete;

  // Identifies this cache for its whole life (never reused), and tells whether it still lives:
  // graphs recorded against a cache are keyed and released by these.
  uint64_t id() const { return id_; }
  std::weak_ptr<const void> lifetime() const { return alive_; }

  Device& device() const { return device_; }
  const KvCacheConfig& config() const { return config_; }
  int64_t size() const { return size_; }
  int64_t capacity() const { return config_.capacity; }
  int64_t row_width() const { return int64_t(config_.n_kv_heads) * config_.head_dim; }
  // Memory per entry over every layer (K and V rows, and the keys' anchors once a reposition
  // has allocated them), and what the entries held now take, the cross-attention part's included.
  uint64_t bytes_per_entry() const;
  // What bytes_per_entry() will be for a cache of `config` on `device` (with_anchors: once a
  // reposition has allocated the keys' anchors), before allocating one.
  static uint64_t entry_bytes(const Device& device, const KvCacheConfig& config, bool with_anchors);
  uint64_t bytes_in_use() const;
  std::span<const int32_t> positions() const { return {positions_.data(), size_t(size_)}; }
  std::span<const int32_t> block_positions() const { return {block_positions_.data(), block_positions_.empty() ? 0 : size_t(size_)}; }
  bool two_d() const { return config_.rope && config_.rope->pairing == RopePairing::Glm2D; }
  // Layer's attention window in positions (0: full); its attention masks older keys.
  int window(int layer) const;
  // Layer's rotary embedding (rope or its layer_rope entry); Error where there is none.
  const RopeConfig& rope(int layer) const;

  const Tensor& k(int layer) const;
  const Tensor& v(int layer) const;
  // I32 [1, capacity]: each slot's position, for attention masks (block positions stay on the
  // host: no mask uses them).
  const Tensor& slot_positions() const { return slot_positions_; }

  // Claims the next n slots for tokens at `positions` (and `block_positions` for 2D RoPE) and
  // returns the first; the caller then writes their K/V (write_layer) and their positions
  // (write_positions) on the device. Throws, changing nothing, on overflow or an order violation.
  int64_t reserve(std::span<const int32_t> positions, std::span<const int32_t> block_positions = {},
                  AppendOrder order = AppendOrder::Increasing);
  // Records the copy of new K/V rows ([n, row_width()], f32) into slots starting at first_slot
  // (a slot number or Graph::step_param), converted to the cache's types.
  void write_layer(Graph& g, int layer, const Tensor& k, const Tensor& v, uint32_t first_slot) const;
  // Records the copy of the new tokens' positions (row 0 of I32 [streams, n]) into the slot
  // positions from first_slot on, so that a decode step needs no upload of its own.
  void write_positions(Graph& g, const Tensor& positions, uint32_t first_slot) const;
  // reserve + write_layer for every layer, run now.
  void append(std::span<const Tensor> k, std::span<const Tensor> v, std::span<const int32_t> positions,
              std::span<const int32_t> block_positions = {}, AppendOrder order = AppendOrder::Increasing);

  // Keeps the listed slots, in the listed order, as slots 0..n-1 (bit-exact data movement).
  void select(std::span<const int64_t> slots);
  // Drops the listed slots (any order, each once), keeping the others in order: select of the
  // rest, which kept_after_dropping gives.
  void drop(std::span<const int64_t> slots) { select(kept_after_dropping(slots)); }
  std::vector<int64_t> kept_after_dropping(std::span<const int64_t> slots) const;
  // Keeps slots [0, n).
  void truncate(int64_t n);
  // Re-rotates the keys of slots [first, first + count) by `delta` positions (and `block_delta`
  // block positions for 2D RoPE), each layer with its own RoPE; values are untouched.
  // Keys stored below f32 would lose a little more of their rotation at every requantization
  // (a small angle rounds back to the same value), so such caches keep each moved key's first
  // stored value (its anchor) and the total delta since: a reposition rotates the anchor by
  // the total in f32 and stores the result, and any number of shifts costs the error of one.
  // The anchors take a K row per slot and are allocated at the first reposition.
  void reposition(int64_t first, int64_t count, int32_t delta, int32_t block_delta = 0);
  // Empties this cache and its cross-attention cache.
  void clear();
  // Replaces the contents (not the cross-attention part's) with entries at `positions` (and
  // `block_positions` for 2D RoPE), in slots 0..n-1: after the checks reserve() makes,
  // fill(layer, k, v) writes each layer's rows [n, row_width()] of K and V (cache files upload
  // them). A check that fails changes nothing; if fill throws, the cache is left empty.
  void assign(std::span<const int32_t> positions, std::span<const int32_t> block_positions,
              const std::function<void(int layer, const Tensor& k, const Tensor& v)>& fill);

  // Encoder-decoder models: the decoder layers' K/V projected from the encoder outputs, one
  // slot per encoder position (no RoPE, no windows); select on it drops encoder positions.
  // fork and copy_to carry it along. Error where the config has no cross_capacity.
  bool has_cross() const { return cross_ != nullptr; }
  KvCache& cross();
  const KvCache& cross() const;

  // Copies this cache's filled slots into `dst` (same shape and types), replacing its contents.
  void copy_to(KvCache& dst) const;
  std::unique_ptr<KvCache> fork() const;

  // Raw bytes of slots [first, first + count) of one layer's K or V rows, as stored.
  std::vector<uint8_t> read_k(int layer, int64_t first, int64_t count) const;
  std::vector<uint8_t> read_v(int layer, int64_t first, int64_t count) const;

 private:
  void check_layer(int layer) const;
  void check_range(int64_t first, int64_t count, const char* what) const;
  std::vector<uint8_t> read(const Tensor& t, int64_t first, int64_t count) const;
  void upload_positions();
  bool anchors_keys() const { return config_.types.k != DType::F32; }
  static KvTypes stored_types(const Device& device, KvTypes types);
  void allocate_anchors();
  void anchor(Graph& g, int64_t first, int64_t count);
  // reposition's GPU work and the anchors' bookkeeping; positions are the caller's.
  void reposition_keys(int64_t first, int64_t count, int32_t delta, int32_t block_delta);

  Device& device_;
  KvCacheConfig config_;
  uint64_t id_;
  std::shared_ptr<const int> alive_ = std::make_shared<const int>(0);
  int64_t size_ = 0;
  std::vector<Tensor> k_, v_;
  std::vector<int32_t> positions_, block_positions_;
  Tensor slot_positions_;
  // Repositioned keys (anchors_keys()): per layer the anchors, empty until the first reposition;
  // per slot whether its anchor is held and the rotation since it (positions, block positions).
  std::vector<Tensor> k_anchor_;
  std::vector<uint8_t> anchored_;
  std::vector<int32_t> anchor_delta_, anchor_block_delta_;
  std::unique_ptr<KvCache> cross_;
};

}  // namespace vkllm
