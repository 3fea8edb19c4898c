#include "runtime/kv_cache.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/ops.h"

namespace vkllm {

KvCache::KvCache(Device& device, KvCacheConfig config) : device_(device), config_(std::move(config)) {
  static std::atomic<uint64_t> next_id{1};
  id_ = next_id++;
  if (config_.n_layers <= 0 || config_.capacity <= 0 || config_.n_kv_heads <= 0 || config_.head_dim <= 0)
    throw Error("KV cache: layers, capacity, kv heads and head_dim must be positive");
  for (DType t : {config_.types.k, config_.types.v}) {
    if (t != DType::F32 && t != DType::F16 && !block_rows(t))
      throw Error(std::string("KV cache: rows are stored as f32, f16, q8_0 or q4_0, not ") + dtype_name(t));
    if (block_rows(t) && row_width() % 32 != 0)
      throw Error(std::string("KV cache: ") + dtype_name(t) + " rows need kv heads x head_dim to be a multiple of 32, not " +
                  std::to_string(row_width()));
  }
  config_.types = stored_types(device, config_.types);
  if (config_.rope) {
    config_.rope->validate();
    if (config_.rope->head_dim != config_.head_dim) throw Error("KV cache: RoPE head_dim differs from the cache's");
  }
  if (!config_.layer_rope.empty()) {
    if (!config_.rope) throw Error("KV cache: per-layer RoPE needs the cache's RoPE too");
    if (int(config_.layer_rope.size()) != config_.n_layers) throw Error("KV cache: layer_rope needs one entry per layer");
    for (const RopeConfig& r : config_.layer_rope) {
      r.validate();
      if (r.head_dim != config_.head_dim || r.streams() != config_.rope->streams())
        throw Error("KV cache: every layer's RoPE needs the cache's head_dim and position streams");
    }
  }
  if (!config_.sliding_window.empty() && int(config_.sliding_window.size()) != config_.n_layers)
    throw Error("KV cache: sliding_window needs one entry per layer");
  for (int l = 0; l < config_.n_layers; ++l) {
    k_.push_back(device.tensor(config_.types.k, config_.capacity, row_units(config_.types.k, row_width()), "kv cache K"));
    v_.push_back(device.tensor(config_.types.v, config_.capacity, row_units(config_.types.v, row_width()), "kv cache V"));
  }
  positions_.resize(size_t(config_.capacity));
  if (two_d()) block_positions_.resize(size_t(config_.capacity));
  slot_positions_ = device.tensor(DType::I32, 1, config_.capacity, "kv cache positions");
  if (config_.cross_capacity < 0) throw Error("KV cache: negative cross-attention capacity");
  if (config_.cross_capacity > 0) {
    KvCacheConfig cross{config_.n_layers, config_.cross_capacity, config_.n_kv_heads, config_.head_dim, config_.types};
    cross_ = std::make_unique<KvCache>(device, cross);
  }
}

void KvCache::clear() {
  truncate(0);
  if (cross_) cross_->truncate(0);
}

KvCache& KvCache::cross() {
  if (!cross_) throw Error("KV cache: this cache has no cross-attention part (a decoder-only model's)");
  return *cross_;
}

const KvCache& KvCache::cross() const { return const_cast<KvCache*>(this)->cross(); }

KvTypes KvCache::stored_types(const Device& device, KvTypes types) {
  for (DType* t : {&types.k, &types.v})
    if (*t == DType::F16 && !device.caps().f16_storage) *t = DType::F32;
  return types;
}

uint64_t KvCache::entry_bytes(const Device& device, const KvCacheConfig& config, bool with_anchors) {
  const KvTypes t = stored_types(device, config.types);
  const int64_t width = int64_t(config.n_kv_heads) * config.head_dim;
  const uint64_t k = uint64_t(row_units(t.k, width)) * dtype_size(t.k), v = uint64_t(row_units(t.v, width)) * dtype_size(t.v);
  return uint64_t(config.n_layers) * (k * (with_anchors && t.k != DType::F32 ? 2 : 1) + v);
}

std::string KvTypes::describe() const {
  return k == v ? dtype_name(k) : std::string("K ") + dtype_name(k) + ", V " + dtype_name(v);
}

uint64_t KvCache::bytes_per_entry() const { return entry_bytes(device_, config_, !k_anchor_.empty()); }

uint64_t KvCache::bytes_in_use() const {
  return bytes_per_entry() * uint64_t(size_) + (has_cross() ? cross().bytes_in_use() : 0);
}

void KvCache::check_layer(int layer) const {
  if (layer < 0 || layer >= config_.n_layers)
    throw Error("KV cache: layer " + std::to_string(layer) + " does not exist (" + std::to_string(config_.n_layers) + " layers)");
}

void KvCache::check_range(int64_t first, int64_t count, const char* what) const {
  if (first < 0 || count < 0 || first + count > size_)
    throw Error(std::string("KV cache: ") + what + " slots [" + std::to_string(first) + ", " +
                std::to_string(first + count) + ") but only " + std::to_string(size_) + " are filled");
}

const Tensor& KvCache::k(int layer) const {
  check_layer(layer);
  return k_[size_t(layer)];
}

const Tensor& KvCache::v(int layer) const {
  check_layer(layer);
  return v_[size_t(layer)];
}

int KvCache::window(int layer) const {
  check_layer(layer);
  return config_.sliding_window.empty() ? 0 : config_.sliding_window[size_t(layer)];
}

void KvCache::upload_positions() {
  if (size_ == 0) return;
  device_.upload(slot_positions_.slice_cols(0, size_), positions_.data());
}

int64_t KvCache::reserve(std::span<const int32_t> positions, std::span<const int32_t> block_positions, AppendOrder order) {
  const int64_t n = int64_t(positions.size());
  if (size_ + n > config_.capacity)
    throw Error("KV cache overflow: " + std::to_string(size_) + " of " + std::to_string(config_.capacity) +
                " slots are filled; " + std::to_string(n) + " more do not fit");
  if (two_d() != !block_positions.empty() || (two_d() && block_positions.size() != positions.size()))
    throw Error(two_d() ? "KV cache: 2D RoPE needs one block position per position"
                        : "KV cache: block positions are only for 2D RoPE");
  if (order == AppendOrder::Increasing) {
    const int64_t cached = size_ ? *std::max_element(positions_.begin(), positions_.begin() + size_) : -1;
    int64_t last = cached;
    for (int32_t p : positions) {
      if (p <= last)
        throw Error("KV cache: appending position " + std::to_string(p) + " refused: " +
                    (p <= cached ? "position " + std::to_string(cached) + " is already cached"
                                 : std::string("positions within one append must increase")) +
                    " (pass AppendOrder::Any to allow it explicitly)");
      last = p;
    }
  }
  for (int32_t p : positions)
    if (p < 0) throw Error("KV cache: negative position " + std::to_string(p));
  const int64_t first = size_;
  std::copy(positions.begin(), positions.end(), positions_.begin() + first);
  if (!anchored_.empty()) std::fill_n(anchored_.begin() + first, n, uint8_t(0));
  if (two_d()) std::copy(block_positions.begin(), block_positions.end(), block_positions_.begin() + first);
  size_ += n;
  return first;
}

namespace {
// Row 0 of a one-row-per-stream I32 tensor as a column: one element per row, for copy_rows.
Tensor as_column(const Tensor& t, int64_t count) {
  Tensor c = t;
  c.rows = count;
  c.cols = 1;
  c.row_stride = 1;
  return c;
}
}  // namespace

void KvCache::write_positions(Graph& g, const Tensor& positions, uint32_t first_slot) const {
  if (positions.dtype != DType::I32) throw Error("KV cache: positions must be I32, not " + positions.describe());
  ops::copy_rows(g, as_column(positions, positions.cols), as_column(slot_positions_, config_.capacity), first_slot);
}

void KvCache::write_layer(Graph& g, int layer, const Tensor& k, const Tensor& v, uint32_t first_slot) const {
  check_layer(layer);
  for (const Tensor* t : {&k, &v})
    if (t->cols != row_width())
      throw Error("KV cache: new rows " + t->describe() + " must be " + std::to_string(row_width()) + " wide");
  ops::copy_rows(g, k, k_[size_t(layer)], first_slot);
  ops::copy_rows(g, v, v_[size_t(layer)], first_slot);
}

void KvCache::append(std::span<const Tensor> k, std::span<const Tensor> v, std::span<const int32_t> positions,
                     std::span<const int32_t> block_positions, AppendOrder order) {
  if (int(k.size()) != config_.n_layers || int(v.size()) != config_.n_layers)
    throw Error("KV cache: append needs K and V for each of the " + std::to_string(config_.n_layers) + " layers");
  for (int l = 0; l < config_.n_layers; ++l)
    if (k[size_t(l)].rows != int64_t(positions.size()) || v[size_t(l)].rows != int64_t(positions.size()))
      throw Error("KV cache: layer " + std::to_string(l) + " has K/V rows for a different number of tokens than positions");
  const int64_t before = size_;
  const int64_t first = reserve(positions, block_positions, order);
  try {
    Graph g(device_);
    for (int l = 0; l < config_.n_layers; ++l) write_layer(g, l, k[size_t(l)], v[size_t(l)], uint32_t(first));
    g.run();
  } catch (...) {
    size_ = before;  // the reservation does not outlive a failed write
    throw;
  }
  upload_positions();
}

void KvCache::select(std::span<const int64_t> slots) {
  for (int64_t s : slots)
    if (s < 0 || s >= size_)
      throw Error("KV cache: cannot select slot " + std::to_string(s) + "; " + std::to_string(size_) + " are filled");
  const int64_t n = int64_t(slots.size());
  if (n == 0) {
    size_ = 0;
    return;
  }
  std::vector<int32_t> indices(slots.begin(), slots.end());
  Tensor idx = device_.tensor(DType::I32, 1, n, "select indices");
  device_.upload(idx, indices.data());
  // Gather into scratch, then copy back: an in-place gather would read rows it has overwritten.
  std::vector<const Tensor*> tensors;
  for (int l = 0; l < config_.n_layers; ++l) {
    tensors.push_back(&k_[size_t(l)]);
    tensors.push_back(&v_[size_t(l)]);
    if (!k_anchor_.empty()) tensors.push_back(&k_anchor_[size_t(l)]);
  }
  std::vector<Tensor> scratch;
  Graph g(device_);
  for (const Tensor* t : tensors) {
    scratch.push_back(device_.tensor(t->dtype, n, t->cols, "select scratch"));
    ops::gather_rows(g, *t, idx, scratch.back());
  }
  for (size_t i = 0; i < tensors.size(); ++i) ops::copy_rows(g, scratch[i], *tensors[i], 0);
  g.run();

  // The host's per-slot vectors follow the rows.
  auto permute = [&]<class T>(std::vector<T>& v) {
    if (v.empty()) return;
    std::vector<T> kept(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) kept[size_t(i)] = v[size_t(slots[size_t(i)])];
    std::copy(kept.begin(), kept.end(), v.begin());
  };
  permute(positions_);
  permute(block_positions_);
  permute(anchored_);
  permute(anchor_delta_);
  permute(anchor_block_delta_);
  size_ = n;
  upload_positions();
}

std::vector<int64_t> KvCache::kept_after_dropping(std::span<const int64_t> slots) const {
  std::vector<uint8_t> dropped(size_t(size_), 0);
  for (int64_t s : slots) {
    if (s < 0 || s >= size_)
      throw Error("KV cache: cannot drop slot " + std::to_string(s) + "; " + std::to_string(size_) + " are filled");
    if (dropped[size_t(s)]++) throw Error("KV cache: slot " + std::to_string(s) + " is listed twice to drop");
  }
  std::vector<int64_t> kept;
  for (int64_t s = 0; s < size_; ++s)
    if (!dropped[size_t(s)]) kept.push_back(s);
  return kept;
}

void KvCache::assign(std::span<const int32_t> positions, std::span<const int32_t> block_positions,
                     const std::function<void(int layer, const Tensor& k, const Tensor& v)>& fill) {
  if (positions.empty()) {
    require(block_positions.empty(), "KV cache: block positions without positions");
    size_ = 0;
    return;
  }
  const int64_t before = size_;
  size_ = 0;
  try {
    reserve(positions, block_positions, AppendOrder::Any);
  } catch (...) {
    size_ = before;
    throw;
  }
  try {
    const int64_t n = size_;
    for (int l = 0; l < config_.n_layers; ++l) fill(l, k_[size_t(l)].slice_rows(0, n), v_[size_t(l)].slice_rows(0, n));
    // reserve() left the new slots unanchored: the loaded keys are the anchors of later shifts.
  } catch (...) {
    size_ = 0;
    throw;
  }
  upload_positions();
}

const RopeConfig& KvCache::rope(int layer) const {
  check_layer(layer);
  if (!config_.rope) throw Error("KV cache: this model has no rotary position embeddings");
  return config_.layer_rope.empty() ? *config_.rope : config_.layer_rope[size_t(layer)];
}

void KvCache::truncate(int64_t n) {
  if (n < 0 || n > size_)
    throw Error("KV cache: cannot truncate to " + std::to_string(n) + " slots; " + std::to_string(size_) + " are filled");
  size_ = n;
}

void KvCache::reposition(int64_t first, int64_t count, int32_t delta, int32_t block_delta) {
  if (!config_.rope) throw Error("KV cache: reposition needs rotary position embeddings; this model has none");
  check_range(first, count, "reposition of");
  if (!two_d() && block_delta != 0) throw Error("KV cache: a block-position delta needs 2D RoPE");
  for (int64_t i = first; i < first + count; ++i)
    if (positions_[size_t(i)] + int64_t(delta) < 0 || (two_d() && block_positions_[size_t(i)] + int64_t(block_delta) < 0))
      throw Error("KV cache: reposition by " + std::to_string(delta) + " would move slot " + std::to_string(i) +
                  " to a negative position");
  if (count == 0 || (delta == 0 && block_delta == 0)) return;
  if (anchors_keys()) allocate_anchors();
  // The range's anchor bookkeeping as it was (f32 keys have none), to restore if the work fails.
  const bool anchored = !anchored_.empty();
  const auto at = [&](auto& v) { return v.begin() + first; };
  const std::vector<uint8_t> anchored_before = anchored ? std::vector(at(anchored_), at(anchored_) + count) : std::vector<uint8_t>{};
  const std::vector<int32_t> delta_before = anchored ? std::vector(at(anchor_delta_), at(anchor_delta_) + count) : std::vector<int32_t>{};
  const std::vector<int32_t> block_delta_before =
      anchored ? std::vector(at(anchor_block_delta_), at(anchor_block_delta_) + count) : std::vector<int32_t>{};
  try {
    reposition_keys(first, count, delta, block_delta);
  } catch (...) {
    if (anchored) {
      std::copy(anchored_before.begin(), anchored_before.end(), at(anchored_));
      std::copy(delta_before.begin(), delta_before.end(), at(anchor_delta_));
      std::copy(block_delta_before.begin(), block_delta_before.end(), at(anchor_block_delta_));
    }
    throw;
  }
  for (int64_t i = first; i < first + count; ++i) {
    positions_[size_t(i)] += delta;
    if (two_d()) block_positions_[size_t(i)] += block_delta;
  }
  upload_positions();
}

void KvCache::reposition_keys(int64_t first, int64_t count, int32_t delta, int32_t block_delta) {
  Graph g(device_);
  if (anchors_keys()) {
    anchor(g, first, count);
    for (int64_t i = first; i < first + count; ++i) {
      anchor_delta_[size_t(i)] += delta;
      anchor_block_delta_[size_t(i)] += block_delta;
    }
  }
  // Each layer's keys re-rotated: f32 ones in place by the delta; others from their anchors by
  // each slot's total delta (ops::rope takes it as the slot's position), through f32 scratch.
  std::vector<RopeTable> tables;
  tables.reserve(size_t(config_.n_layers));  // the graph binds them: no reallocation
  Tensor totals, scratch;
  int32_t lo = 0, hi = 0;
  if (anchors_keys()) {
    const auto d = std::span(anchor_delta_).subspan(size_t(first), size_t(count));
    const auto b = std::span(anchor_block_delta_).subspan(size_t(first), size_t(count));
    std::vector<int32_t> rows(d.begin(), d.end());
    if (two_d()) rows.insert(rows.end(), b.begin(), b.end());
    lo = *std::min_element(rows.begin(), rows.end());
    hi = *std::max_element(rows.begin(), rows.end());
    totals = device_.tensor(DType::I32, two_d() ? 2 : 1, count, "reposition deltas");
    device_.upload(totals, rows.data());
    scratch = device_.tensor(DType::F32, count, row_width(), "reposition scratch");  // one for every layer in turn
  }
  for (int l = 0; l < config_.n_layers; ++l) {
    const RopeConfig& r = rope(l);
    auto it = std::find_if(tables.begin(), tables.end(), [&](const RopeTable& t) { return t.config == r; });
    if (it == tables.end())
      it = tables.insert(tables.end(), anchors_keys() ? RopeTable::build(device_, r, lo, int64_t(hi) - lo + 1, true)
                                                      : RopeTable::delta(device_, r, delta, block_delta));
    const Tensor rows = k_[size_t(l)].slice_rows(first, count);
    if (anchors_keys()) {
      ops::copy_rows(g, k_anchor_[size_t(l)].slice_rows(first, count), scratch, 0);
      ops::rope(g, scratch, scratch, config_.n_kv_heads, *it, totals);
      ops::copy_rows(g, scratch, rows, 0);
    } else {
      ops::rope_shift(g, rows, rows, config_.n_kv_heads, *it);
    }
  }
  g.run();
}

// Makes the keys of slots [first, first + count) that have no anchor yet their own anchors
// (their stored keys, as appended or loaded).
void KvCache::allocate_anchors() {
  if (!k_anchor_.empty()) return;
  for (const Tensor& k : k_) k_anchor_.push_back(device_.tensor(k.dtype, k.rows, k.cols, "kv cache K anchor"));
  anchored_.assign(size_t(config_.capacity), 0);
  anchor_delta_.assign(size_t(config_.capacity), 0);
  anchor_block_delta_.assign(size_t(config_.capacity), 0);
}

void KvCache::anchor(Graph& g, int64_t first, int64_t count) {
  for (int64_t i = first; i < first + count;) {
    if (anchored_[size_t(i)]) {
      ++i;
      continue;
    }
    int64_t end = i;
    while (end < first + count && !anchored_[size_t(end)]) {
      anchored_[size_t(end)] = 1;
      anchor_delta_[size_t(end)] = anchor_block_delta_[size_t(end)] = 0;
      ++end;
    }
    for (int l = 0; l < config_.n_layers; ++l)
      ops::copy_rows(g, k_[size_t(l)].slice_rows(i, end - i), k_anchor_[size_t(l)], uint32_t(i));
    i = end;
  }
}

void KvCache::copy_to(KvCache& dst) const {
  const auto& a = config_;
  const auto& b = dst.config_;
  if (a.n_layers != b.n_layers || a.n_kv_heads != b.n_kv_heads || a.head_dim != b.head_dim || a.types != b.types ||
      b.capacity < size_ || has_cross() != dst.has_cross())
    throw Error("KV cache: copy needs a destination of the same shape and type with room for " + std::to_string(size_) +
                " slots");
  if (cross_) cross_->copy_to(*dst.cross_);
  if (!k_anchor_.empty()) dst.allocate_anchors();
  dst.anchored_.assign(dst.anchored_.size(), 0);
  std::copy_n(anchored_.begin(), anchored_.empty() ? 0 : size_, dst.anchored_.begin());
  std::copy_n(anchor_delta_.begin(), anchor_delta_.empty() ? 0 : size_, dst.anchor_delta_.begin());
  std::copy_n(anchor_block_delta_.begin(), anchor_block_delta_.empty() ? 0 : size_, dst.anchor_block_delta_.begin());
  if (size_ > 0) {
    Graph g(device_);
    for (int l = 0; l < a.n_layers; ++l) {
      ops::copy_rows(g, k_[size_t(l)].slice_rows(0, size_), dst.k_[size_t(l)], 0);
      ops::copy_rows(g, v_[size_t(l)].slice_rows(0, size_), dst.v_[size_t(l)], 0);
      if (!k_anchor_.empty()) ops::copy_rows(g, k_anchor_[size_t(l)].slice_rows(0, size_), dst.k_anchor_[size_t(l)], 0);
    }
    g.run();
  }
  std::copy(positions_.begin(), positions_.begin() + size_, dst.positions_.begin());
  if (two_d()) std::copy(block_positions_.begin(), block_positions_.begin() + size_, dst.block_positions_.begin());
  dst.size_ = size_;
  dst.upload_positions();
}

std::unique_ptr<KvCache> KvCache::fork() const {
  auto copy = std::make_unique<KvCache>(device_, config_);
  copy_to(*copy);
  return copy;
}

std::vector<uint8_t> KvCache::read(const Tensor& t, int64_t first, int64_t count) const {
  check_range(first, count, "reading");
  std::vector<uint8_t> out(size_t(count) * t.row_bytes());
  if (count) device_.download(t.slice_rows(first, count), out.data());
  return out;
}

std::vector<uint8_t> KvCache::read_k(int layer, int64_t first, int64_t count) const { return read(k(layer), first, count); }
std::vector<uint8_t> KvCache::read_v(int layer, int64_t first, int64_t count) const { return read(v(layer), first, count); }

}  // namespace vkllm
