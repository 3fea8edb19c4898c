// The KV cache: data movement is bit-exact, positions are kept right, the order invariant and
// range checks refuse bad requests, reposition equals RoPE at the new positions.
#include <cstring>
#include <numeric>

#include "tests/test_util.h"
#include "runtime/kv_cache.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

KvCacheConfig config(DType dtype, std::optional<RopeConfig> rope = std::nullopt, int64_t capacity = 64) {
  KvCacheConfig c;
  c.n_layers = 2;
  c.capacity = capacity;
  c.n_kv_heads = 2;
  c.head_dim = 64;
  c.types = dtype;
  c.rope = rope;
  return c;
}

RopeConfig rope(RopePairing pairing) {
  RopeConfig r;
  r.head_dim = 64;
  r.pairing = pairing;
  return r;
}

// Appends n random tokens at the given positions; returns the host K and V per layer.
struct Appended {
  std::vector<ref::Mat> k, v;
};
Appended append_random(Device& d, KvCache& cache, const std::vector<int32_t>& pos, uint32_t seed,
                       const std::vector<int32_t>& block = {}) {
  Appended a;
  std::vector<Tensor> tk, tv;
  for (int l = 0; l < cache.config().n_layers; ++l) {
    a.k.push_back(random_mat(int64_t(pos.size()), cache.row_width(), seed + 2 * uint32_t(l)));
    a.v.push_back(random_mat(int64_t(pos.size()), cache.row_width(), seed + 2 * uint32_t(l) + 1));
    tk.push_back(to_device(d, a.k.back()));
    tv.push_back(to_device(d, a.v.back()));
  }
  cache.append(tk, tv, pos, block);
  return a;
}

// The bytes a row range of host data occupies in a cache of the given type.
std::vector<uint8_t> bytes_of(const ref::Mat& m, int64_t first, int64_t count, DType dtype) {
  std::vector<float> rows(m.v.begin() + first * m.cols, m.v.begin() + (first + count) * m.cols);
  std::vector<uint8_t> out;
  if (dtype == DType::F16) {
    auto h = to_f16(rows);
    out.resize(h.size() * 2);
    std::memcpy(out.data(), h.data(), out.size());
  } else {
    out.resize(rows.size() * 4);
    std::memcpy(out.data(), rows.data(), out.size());
  }
  return out;
}

std::vector<int32_t> range(int32_t first, int32_t n) {
  std::vector<int32_t> r(static_cast<size_t>(n));
  std::iota(r.begin(), r.end(), first);
  return r;
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "append and readback are bit-exact for f32 and f16 caches") {
  Device& d = gpu();
  for (DType t : {DType::F32, DType::F16}) {
    KvCache cache(d, config(t));
    const DType stored = cache.config().types.k;  // f32 where 16-bit storage is missing
    auto first = append_random(d, cache, range(0, 5), 1);
    auto second = append_random(d, cache, range(5, 3), 2);
    CHECK(cache.size() == 8);
    for (int l = 0; l < 2; ++l) {
      CHECK(cache.read_k(l, 0, 5) == bytes_of(first.k[size_t(l)], 0, 5, stored));
      CHECK(cache.read_v(l, 5, 3) == bytes_of(second.v[size_t(l)], 0, 3, stored));
    }
    CHECK(std::vector<int32_t>(cache.positions().begin(), cache.positions().end()) == range(0, 8));
  }
}

TEST_CASE_FIXTURE(GpuTest, "appending at a position that is not past the cached ones is refused") {
  Device& d = gpu();
  KvCache cache(d, config(DType::F32));
  append_random(d, cache, range(0, 5), 3);
  CHECK_THROWS_WITH_AS(append_random(d, cache, {4}, 4), doctest::Contains("position 4 is already cached"), Error);
  CHECK_THROWS_WITH_AS(append_random(d, cache, {7, 6}, 4), doctest::Contains("must increase"), Error);
  CHECK(cache.size() == 5);  // nothing changed
  std::vector<Tensor> k{d.tensor(DType::F32, 1, 128), d.tensor(DType::F32, 1, 128)};
  cache.append(k, k, std::vector<int32_t>{2}, {}, AppendOrder::Any);  // explicitly allowed
  CHECK(cache.size() == 6);
  CHECK(cache.positions()[5] == 2);
}

TEST_CASE_FIXTURE(GpuTest, "select keeps BOS and the document, drops the prefix, bit-exact") {
  Device& d = gpu();
  for (DType t : {DType::F32, DType::F16}) {
    // Large enough to span several buffer ranges under VKLLM_MAX_BUFFER_RANGE=1048576.
    KvCache cache(d, config(t, rope(RopePairing::Interleaved), 2100));
    const DType stored = cache.config().types.k;
    const int32_t prefix = 700, doc = 1300;
    auto data = append_random(d, cache, range(0, 1 + prefix + doc), 5);
    std::vector<int64_t> keep{0};
    for (int64_t s = 1 + prefix; s < 1 + prefix + doc; ++s) keep.push_back(s);
    cache.select(keep);
    CHECK(cache.size() == 1 + doc);
    for (int l = 0; l < 2; ++l) {
      CHECK(cache.read_k(l, 0, 1) == bytes_of(data.k[size_t(l)], 0, 1, stored));
      CHECK(cache.read_k(l, 1, doc) == bytes_of(data.k[size_t(l)], 1 + prefix, doc, stored));
      CHECK(cache.read_v(l, 1, doc) == bytes_of(data.v[size_t(l)], 1 + prefix, doc, stored));
    }
    CHECK(cache.positions()[0] == 0);
    CHECK(cache.positions()[1] == 1 + prefix);
    CHECK(cache.positions()[size_t(doc)] == prefix + doc);
    // The next token goes after the largest cached position; the slot after the last one.
    CHECK_THROWS_AS(append_random(d, cache, {prefix + doc}, 6), Error);
    append_random(d, cache, {1 + prefix + doc}, 6);
    CHECK(cache.size() == 2 + doc);
  }
}

TEST_CASE_FIXTURE(GpuTest, "drop by a caller's list keeps the rest in order; bad lists change nothing") {
  Device& d = gpu();
  KvCache cache(d, config(DType::Q8_0));
  append_random(d, cache, range(0, 8), 70);
  const auto before = cache.read_v(1, 0, 8);
  const size_t row = before.size() / 8;
  CHECK_THROWS_WITH_AS(cache.drop(std::vector<int64_t>{2, 8}), doctest::Contains("cannot drop slot 8"), Error);
  CHECK_THROWS_WITH_AS(cache.drop(std::vector<int64_t>{2, 2}), doctest::Contains("listed twice"), Error);
  CHECK(cache.size() == 8);
  cache.drop(std::vector<int64_t>{6, 1, 2});
  CHECK(std::vector<int32_t>(cache.positions().begin(), cache.positions().end()) == std::vector<int32_t>{0, 3, 4, 5, 7});
  CHECK(cache.read_v(1, 4, 1) == std::vector<uint8_t>(before.begin() + 7 * row, before.end()));
}

TEST_CASE_FIXTURE(GpuTest, "select in arbitrary order, truncate and clear") {
  Device& d = gpu();
  KvCache cache(d, config(DType::F32));
  auto data = append_random(d, cache, range(10, 6), 7);
  cache.select(std::vector<int64_t>{5, 0, 3});
  CHECK(cache.read_v(1, 0, 1) == bytes_of(data.v[1], 5, 1, DType::F32));
  CHECK(cache.read_v(1, 1, 1) == bytes_of(data.v[1], 0, 1, DType::F32));
  CHECK(cache.read_v(1, 2, 1) == bytes_of(data.v[1], 3, 1, DType::F32));
  CHECK(std::vector<int32_t>(cache.positions().begin(), cache.positions().end()) == std::vector<int32_t>{15, 10, 13});
  CHECK_THROWS_WITH_AS(cache.select(std::vector<int64_t>{3}), doctest::Contains("cannot select slot 3"), Error);
  cache.truncate(1);
  CHECK(cache.size() == 1);
  cache.clear();
  CHECK(cache.size() == 0);
  CHECK(cache.read_k(0, 0, 0).empty());  // an empty cache reads back as empty
  CHECK_THROWS_WITH_AS(cache.read_k(0, 0, 1), doctest::Contains("only 0 are filled"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "fork copies exactly and the copies are independent") {
  Device& d = gpu();
  KvCache cache(d, config(DType::F16, rope(RopePairing::HalfSplit)));
  append_random(d, cache, range(0, 9), 8);
  auto copy = cache.fork();
  CHECK(copy->size() == 9);
  for (int l = 0; l < 2; ++l) {
    CHECK(copy->read_k(l, 0, 9) == cache.read_k(l, 0, 9));
    CHECK(copy->read_v(l, 0, 9) == cache.read_v(l, 0, 9));
  }
  append_random(d, *copy, {20}, 9);
  copy->reposition(0, 3, 4);
  CHECK(cache.size() == 9);
  CHECK(cache.positions()[0] == 0);
  CHECK(copy->positions()[0] == 4);
}

TEST_CASE_FIXTURE(GpuTest, "reposition equals RoPE at the new positions and leaves values alone") {
  Device& d = gpu();
  for (RopePairing pairing : {RopePairing::Interleaved, RopePairing::HalfSplit, RopePairing::Glm2D}) {
    CAPTURE(rope_pairing_name(pairing));
    RopeConfig rc = rope(pairing);
    KvCache cache(d, config(DType::F32, rc, 64));
    const bool two_d = pairing == RopePairing::Glm2D;
    std::vector<std::vector<int32_t>> pos{range(0, 12)};
    if (two_d) pos.push_back(std::vector<int32_t>{0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8});
    // Keys as a model writes them: rotated at their positions.
    std::vector<ref::Mat> raw;
    std::vector<Tensor> tk, tv;
    for (int l = 0; l < 2; ++l) {
      raw.push_back(random_mat(12, 128, 20 + uint32_t(l)));
      tk.push_back(to_device(d, ref::rope(raw.back(), 2, rc, pos)));
      tv.push_back(to_device(d, raw.back()));
    }
    cache.append(tk, tv, pos[0], two_d ? std::span<const int32_t>(pos[1]) : std::span<const int32_t>{});
    // Drop slots 1..3 (a "prefix") and move the rest back by 3, as in truncated scoring.
    std::vector<int64_t> keep{0, 4, 5, 6, 7, 8, 9, 10, 11};
    cache.select(keep);
    cache.reposition(1, 8, -3, two_d ? -1 : 0);
    std::vector<std::vector<int32_t>> moved(pos.size());
    for (size_t s = 0; s < pos.size(); ++s)
      for (int64_t slot : keep) moved[s].push_back(pos[s][size_t(slot)] - (slot == 0 ? 0 : (s == 0 ? 3 : 1)));
    CHECK(std::vector<int32_t>(cache.positions().begin(), cache.positions().end()) == moved[0]);
    for (int l = 0; l < 2; ++l) {
      ref::Mat kept(9, 128);
      for (size_t i = 0; i < keep.size(); ++i)
        std::copy_n(raw[size_t(l)].v.begin() + keep[i] * 128, 128, kept.v.begin() + int64_t(i) * 128);
      ref::Mat got(9, 128);
      auto bytes = cache.read_k(l, 0, 9);
      std::memcpy(got.v.data(), bytes.data(), bytes.size());
      CHECK(max_rel_diff(got, ref::rope(kept, 2, rc, moved)) <= 1e-5f);
      CHECK(cache.read_v(l, 0, 9) == bytes_of(kept, 0, 9, DType::F32));
    }
  }
}

// Gemma 3 rotates its sliding layers with base 10000 and its global ones with base 1e6 and
// linear scaling 8: reposition must re-rotate each layer with that layer's own RoPE.
TEST_CASE_FIXTURE(GpuTest, "select + reposition equals RoPE at the new positions with each layer's own RoPE") {
  Device& d = gpu();
  RopeConfig local = rope(RopePairing::HalfSplit), global = local;
  global.theta = 1000000.0;
  global.freq_scale = 1.0 / 8.0;
  const std::vector<RopeConfig> per_layer{local, global};
  const std::vector<int32_t> pos = range(0, 40);
  std::vector<ref::Mat> raw;
  for (int l = 0; l < 2; ++l) raw.push_back(random_mat(40, 128, 40 + uint32_t(l)));
  std::vector<int64_t> keep{0};  // BOS, then the document after a 6-token prefix
  for (int64_t s = 7; s < 40; ++s) keep.push_back(s);
  std::vector<int32_t> moved{0};
  for (size_t i = 1; i < keep.size(); ++i) moved.push_back(int32_t(keep[i]) - 6);
  // The surgery on a cache told each layer's RoPE, and on one that applies layer 0's to both.
  for (const bool one_rope_for_all : {false, true}) {
    CAPTURE(one_rope_for_all);
    KvCacheConfig c = config(DType::F32, local, 64);
    if (!one_rope_for_all) c.layer_rope = per_layer;
    KvCache cache(d, c);
    std::vector<Tensor> tk, tv;
    for (int l = 0; l < 2; ++l) {
      tk.push_back(to_device(d, ref::rope(raw[size_t(l)], 2, per_layer[size_t(l)], {pos})));
      tv.push_back(to_device(d, raw[size_t(l)]));
    }
    cache.append(tk, tv, pos);
    cache.select(keep);
    cache.reposition(1, int64_t(keep.size()) - 1, -6);
    for (int l = 0; l < 2; ++l) {
      CAPTURE(l);
      ref::Mat kept(int64_t(keep.size()), 128), got(int64_t(keep.size()), 128);
      for (size_t i = 0; i < keep.size(); ++i)
        std::copy_n(raw[size_t(l)].v.begin() + keep[i] * 128, 128, kept.v.begin() + int64_t(i) * 128);
      const auto bytes = cache.read_k(l, 0, int64_t(keep.size()));
      std::memcpy(got.v.data(), bytes.data(), bytes.size());
      const float error = max_rel_diff(got, ref::rope(kept, 2, per_layer[size_t(l)], {moved}));
      if (one_rope_for_all && l == 1)
        CHECK(error > 1e-2f);  // the global layer re-rotated with the sliding layers' base
      else
        CHECK(error <= 1e-5f);
    }
  }
  KvCacheConfig bad = config(DType::F32, local, 64);
  bad.layer_rope = {local};
  CHECK_THROWS_WITH_AS(KvCache(d, bad), doctest::Contains("layer_rope needs one entry per layer"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "reposition needs rotary embeddings; bad ranges and overflow are errors") {
  Device& d = gpu();
  KvCache learned(d, config(DType::F32));  // GPT-2 style: no RoPE
  append_random(d, learned, range(0, 4), 10);
  CHECK_THROWS_WITH_AS(learned.reposition(0, 2, 1), doctest::Contains("needs rotary position embeddings"), Error);
  KvCache cache(d, config(DType::F32, rope(RopePairing::HalfSplit), 8));
  append_random(d, cache, range(0, 6), 11);
  CHECK_THROWS_WITH_AS(cache.reposition(4, 5, 1), doctest::Contains("only 6 are filled"), Error);
  CHECK_THROWS_WITH_AS(cache.reposition(0, 2, -1), doctest::Contains("negative position"), Error);
  CHECK_THROWS_WITH_AS(append_random(d, cache, range(6, 3), 12), doctest::Contains("overflow"), Error);
  CHECK(cache.size() == 6);
}

TEST_CASE_FIXTURE(GpuTest, "reposition with the wrong pairing scrambles the keys") {
  Device& d = gpu();
  const RopeConfig right = rope(RopePairing::HalfSplit), wrong = rope(RopePairing::Interleaved);
  ref::Mat raw = random_mat(6, 128, 30);
  const std::vector<std::vector<int32_t>> pos{range(0, 6)}, moved{range(10, 6)};
  auto repositioned = [&](const RopeConfig& cache_rope) {
    KvCache cache(d, config(DType::F32, cache_rope));
    std::vector<Tensor> k(2, to_device(d, ref::rope(raw, 2, right, pos))), v(2, to_device(d, raw));
    cache.append(k, v, pos[0]);
    cache.reposition(0, 6, 10);
    ref::Mat got(6, 128);
    auto bytes = cache.read_k(0, 0, 6);
    std::memcpy(got.v.data(), bytes.data(), bytes.size());
    return got;
  };
  const ref::Mat want = ref::rope(raw, 2, right, moved);
  CHECK(max_rel_diff(repositioned(right), want) <= 1e-5f);
  CHECK(max_abs_diff(repositioned(wrong), want) > 0.1f);
}

TEST_CASE_FIXTURE(GpuTest, "sliding-window layers mask old entries after select and reposition") {
  Device& d = gpu();
  KvCacheConfig c = config(DType::F32, rope(RopePairing::HalfSplit), 128);
  c.sliding_window = {0, 16};  // layer 0 full, layer 1 windowed
  KvCache cache(d, c);
  auto data = append_random(d, cache, range(0, 100), 31);
  std::vector<int64_t> keep{0};
  for (int64_t s = 40; s < 100; ++s) keep.push_back(s);
  cache.select(keep);
  cache.reposition(1, 60, -39);  // the document now sits at positions 1..60
  ref::Mat q = random_mat(1, 4 * 64, 32);
  Tensor tq = to_device(d, q), qpos = d.tensor(DType::I32, 1, 1), out = d.tensor(DType::F32, 1, 4 * 64);
  d.upload(qpos, std::vector<int32_t>{61}.data());
  for (int layer : {0, 1}) {
    CAPTURE(layer);
    ops::AttentionParams a;
    a.n_heads = 4;
    a.n_kv_heads = 2;
    a.head_dim = 64;
    a.n_kv = uint32_t(cache.size());
    a.mask = cache.window(layer) ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
    a.window = cache.window(layer);
    Graph g(d);
    ops::attention(g, tq, cache.k(layer), cache.v(layer), cache.slot_positions(), qpos, out, a);
    g.run();
    ref::Mat k(cache.size(), 128), v(cache.size(), 128);
    auto kb = cache.read_k(layer, 0, cache.size()), vb = cache.read_v(layer, 0, cache.size());
    std::memcpy(k.v.data(), kb.data(), kb.size());
    std::memcpy(v.v.data(), vb.data(), vb.size());
    ref::AttentionSpec spec{4, 2, 64};
    spec.mask = cache.window(layer) ? 3 : 1;
    spec.window = cache.window(layer);
    const std::vector<int32_t> kpos(cache.positions().begin(), cache.positions().end()), qp{61};
    CHECK(max_rel_diff(to_host(d, out), ref::attention(q, k, v, kpos, qp, spec)) <= 2e-5f);
  }
  CHECK(cache.window(1) == 16);
}

TEST_CASE_FIXTURE(GpuTest, "a recorded decode step writes each new entry at the slot its step value names") {
  Device& d = gpu();
  KvCache cache(d, config(DType::F16, rope(RopePairing::Interleaved)));
  const DType stored = cache.config().types.k;
  append_random(d, cache, range(0, 4), 40);
  Tensor k = d.tensor(DType::F32, 1, 128), v = d.tensor(DType::F32, 1, 128);
  Graph step(d);  // recorded once, replayed for every token
  for (int l = 0; l < 2; ++l) cache.write_layer(step, l, k, v, Graph::step_param(0));
  std::vector<ref::Mat> written;
  for (int32_t pos = 4; pos < 7; ++pos) {
    const int64_t slot = cache.reserve(std::vector<int32_t>{pos});
    written.push_back(random_mat(1, 128, 41 + uint32_t(pos)));
    d.upload(k, written.back().v.data());
    d.upload(v, written.back().v.data());
    step.set_step(0, uint32_t(slot));
    step.run();
  }
  CHECK(cache.size() == 7);
  for (int i = 0; i < 3; ++i)
    for (int l = 0; l < 2; ++l) {
      CHECK(cache.read_k(l, 4 + i, 1) == bytes_of(written[size_t(i)], 0, 1, stored));
      CHECK(cache.read_v(l, 4 + i, 1) == bytes_of(written[size_t(i)], 0, 1, stored));
    }
  CHECK(step.dispatch_count() == 4);
}

namespace {
// One layer's K or V rows of a block-type cache as the values they hold.
ref::Mat held(const KvCache& cache, DType t, const std::vector<uint8_t>& bytes, int64_t rows) {
  std::vector<uint32_t> words(bytes.size() / 4);
  std::memcpy(words.data(), bytes.data(), bytes.size());
  return ref::dequantize_rows(t, words, rows, cache.row_width());
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "q8_0 and q4_0 caches quantize appended rows as GGUF does and move blocks bit-exactly") {
  Device& d = gpu();
  for (DType t : {DType::Q8_0, DType::Q4_0}) {
    CAPTURE(dtype_name(t));
    KvCache cache(d, config(t, rope(RopePairing::HalfSplit), 64));
    CHECK(cache.bytes_per_entry() == 2 * 2 * uint64_t(row_units(t, 128)) * 4);
    auto data = append_random(d, cache, range(0, 40), 50);
    for (int l = 0; l < 2; ++l) {
      // Rounding a value that lies halfway between two steps may go either way on the GPU.
      const ref::Mat want = as_stored(data.k[size_t(l)], t), got = held(cache, t, cache.read_k(l, 0, 40), 40);
      const float step = t == DType::Q8_0 ? 1.0f / 127 : 1.0f / 8;  // of the largest magnitude (<= 1)
      CHECK(max_abs_diff(got, want) <= step * 1.001f);
      int64_t same = 0;
      for (size_t i = 0; i < want.v.size(); ++i) same += got.v[i] == want.v[i];
      CHECK(double(same) >= 0.999 * double(want.v.size()));
      CHECK(max_abs_diff(held(cache, t, cache.read_v(l, 0, 40), 40), as_stored(data.v[size_t(l)], t)) <= step * 1.001f);
    }
    const auto before = cache.read_k(1, 0, 40);
    auto copy = cache.fork();
    CHECK(copy->read_k(1, 0, 40) == before);
    copy->select(std::vector<int64_t>{0, 39, 7});
    const size_t row = before.size() / 40;
    CHECK(copy->read_k(1, 1, 1) == std::vector<uint8_t>(before.begin() + 39 * row, before.begin() + 40 * row));
    CHECK(copy->read_k(1, 2, 1) == std::vector<uint8_t>(before.begin() + 7 * row, before.begin() + 8 * row));
  }
  KvCacheConfig narrow = config(DType::Q8_0);
  narrow.head_dim = 8;  // 2 kv heads x 8 = 16 values: not a whole block
  CHECK_THROWS_WITH_AS(KvCache(d, narrow), doctest::Contains("multiple of 32"), Error);
}

// Repositioning dequantizes, rotates and quantizes again: the keys then equal the same keys
// rotated at the new positions, up to quantization error, and repeated shifts do not add
// error shift after shift (each rotates the key's anchor by the total), also across a fork
// and a select that reorders the slots.
TEST_CASE_FIXTURE(GpuTest, "reposition of q8_0 keys: one shift, and 100 shifts by one") {
  Device& d = gpu();
  const RopeConfig r = rope(RopePairing::HalfSplit);
  const int32_t n = 32;
  const ref::Mat raw = random_mat(n, 128, 60);
  const std::vector<std::vector<int32_t>> pos{range(0, n)};
  std::vector<int64_t> reversed(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) reversed[size_t(i)] = n - 1 - i;
  auto error_after = [&](int shifts, int by, bool fork_and_reverse) {
    auto cache = std::make_unique<KvCache>(d, config(DType::Q8_0, r, 64));
    std::vector<Tensor> k(2, to_device(d, ref::rope(raw, 2, r, pos))), v(2, to_device(d, raw));
    cache->append(k, v, pos[0]);
    for (int i = 0; i < shifts; ++i) {
      cache->reposition(0, n, by);
      if (fork_and_reverse && i == shifts / 2) {
        cache = cache->fork();
        cache->select(reversed);
      }
    }
    ref::Mat want = ref::rope(raw, 2, r, {range(shifts * by, n)});
    if (fork_and_reverse) want = ref::get_rows(want, std::vector<int32_t>(reversed.begin(), reversed.end()));
    return max_abs_diff(held(*cache, DType::Q8_0, cache->read_k(0, 0, n), n), want);
  };
  const float once = error_after(1, 100, false), hundred = error_after(100, 1, false), moved = error_after(100, 1, true);
  MESSAGE("q8_0 keys: max error after one shift by 100 " << once << ", after 100 shifts by 1 " << hundred
                                                         << ", with a fork and a reversing select halfway " << moved);
  // One quantization of values up to sqrt(2) in magnitude: half a step of 1.42 / 127, with margin.
  for (float e : {once, hundred, moved}) CHECK(e <= 1.5f / 127);
}
