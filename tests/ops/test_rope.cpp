// RoPE in every pairing vs a double-precision reference computed from the configuration.
// Tolerances: 1e-5 * (1 + |ref|) against the reference; rotate by +d then -d returns the input
// within 1e-6; re-rotating by a delta equals rotating at the new position within 1e-5.
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

struct Mode {
  const char* name;
  RopeConfig config;
};

std::vector<Mode> modes(int head_dim) {
  std::vector<Mode> m;
  RopeConfig c;
  c.head_dim = head_dim;
  c.pairing = RopePairing::Interleaved;
  m.push_back({"interleaved", c});
  c.pairing = RopePairing::HalfSplit;
  m.push_back({"half-split", c});
  c.rotary_dim = head_dim / 2;  // ChatGLM2/3: half the head, interleaved pairs
  c.pairing = RopePairing::Interleaved;
  m.push_back({"partial interleaved", c});
  c.rotary_dim = 16;  // a rotary part that is not a simple fraction of the head
  c.pairing = RopePairing::HalfSplit;
  m.push_back({"partial half-split", c});
  c.rotary_dim = 0;
  if (head_dim % 4 == 0) {
    c.pairing = RopePairing::Glm2D;
    m.push_back({"glm 2d", c});
  }
  return m;
}

std::vector<std::vector<int32_t>> random_positions(int streams, int64_t n, int32_t max, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> u(0, max - 1);
  std::vector<std::vector<int32_t>> p(static_cast<size_t>(streams), std::vector<int32_t>(static_cast<size_t>(n)));
  for (auto& s : p)
    for (auto& v : s) v = u(rng);
  return p;
}

Tensor positions_tensor(Device& d, const std::vector<std::vector<int32_t>>& p) {
  Tensor t = d.tensor(DType::I32, int64_t(p.size()), int64_t(p[0].size()), "positions");
  std::vector<int32_t> flat;
  for (auto& s : p) flat.insert(flat.end(), s.begin(), s.end());
  d.upload(t, std::span<const int32_t>(flat));
  return t;
}

ref::Mat rotate_on_gpu(Device& d, const ref::Mat& x, int heads, const RopeTable& table,
                       const std::vector<std::vector<int32_t>>& pos, DType dtype = DType::F32) {
  Tensor tx = to_device(d, x, dtype), tp = positions_tensor(d, pos);
  Graph g(d);
  ops::rope(g, tx, tx, heads, table, tp);  // in place, as the cache uses it
  g.run();
  return to_host(d, tx);
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "rope matches the reference in every pairing") {
  Device& d = gpu();
  for (int hd : {64, 80, 128})
    for (auto& [name, c] : modes(hd)) {
      CAPTURE(name);
      CAPTURE(hd);
      const int heads = 3;
      const int64_t n = 37;
      RopeTable table = RopeTable::build(d, c, 0, 4096);
      auto pos = random_positions(c.streams(), n, 4096, 5);
      ref::Mat x = random_mat(n, heads * hd, 6);
      CHECK(max_rel_diff(rotate_on_gpu(d, x, heads, table, pos), ref::rope(x, heads, c, pos)) <= 1e-5f);
    }
}

TEST_CASE_FIXTURE(GpuTest, "rope on f16 data matches the reference to f16 precision") {
  Device& d = gpu();
  if (!d.caps().f16_storage) {
    MESSAGE("skipped: f16 rope needs 16-bit storage (caches are f32 on this configuration)");
    return;
  }
  RopeConfig c;
  c.head_dim = 64;
  c.pairing = RopePairing::HalfSplit;
  RopeTable table = RopeTable::build(d, c, 0, 512);
  auto pos = random_positions(1, 9, 512, 7);
  ref::Mat x = round_to_f16(random_mat(9, 128, 8));
  CHECK(max_rel_diff(rotate_on_gpu(d, x, 2, table, pos, DType::F16), ref::rope(x, 2, c, pos)) <= 1e-3f);
}

TEST_CASE_FIXTURE(GpuTest, "rotating by +d then -d returns the input") {
  Device& d = gpu();
  for (auto& [name, c] : modes(64)) {
    CAPTURE(name);
    for (int32_t delta : {1, 17, 3000}) {
      CAPTURE(delta);
      ref::Mat x = random_mat(11, 4 * 64, 9);
      Tensor tx = to_device(d, x);
      RopeTable fwd = RopeTable::delta(d, c, delta, delta / 2), back = RopeTable::delta(d, c, -delta, -(delta / 2));
      Graph g(d);
      ops::rope_shift(g, tx, tx, 4, fwd);
      ops::rope_shift(g, tx, tx, 4, back);
      g.run();
      CHECK(max_abs_diff(to_host(d, tx), x) <= 1e-6f);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "re-rotating by a delta equals rotating at the new positions") {
  Device& d = gpu();
  for (auto& [name, c] : modes(128)) {
    if (c.streams() != 1) continue;  // 2D reposition is covered with the cache
    CAPTURE(name);
    const int heads = 2;
    RopeTable table = RopeTable::build(d, c, 0, 4200);
    auto pos = random_positions(1, 23, 4000, 10);
    for (auto& p : pos[0]) p += 50;  // in [50, 4050): every delta below stays inside the table
    for (int32_t delta : {-37, 5, 150}) {
      CAPTURE(delta);
      std::vector<std::vector<int32_t>> moved = pos;
      for (auto& p : moved[0]) p += delta;
      ref::Mat x = random_mat(23, heads * 128, 11);
      Tensor tx = to_device(d, x), tp = positions_tensor(d, pos);
      RopeTable shift = RopeTable::delta(d, c, delta);
      Graph g(d);
      ops::rope(g, tx, tx, heads, table, tp);
      ops::rope_shift(g, tx, tx, heads, shift);
      g.run();
      CHECK(max_rel_diff(to_host(d, tx), ref::rope(x, heads, c, moved)) <= 1e-5f);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "the pairing matters: rotating with the wrong pairing scrambles keys") {
  Device& d = gpu();
  RopeConfig neox, norm;
  neox.head_dim = norm.head_dim = 64;
  neox.pairing = RopePairing::HalfSplit;
  norm.pairing = RopePairing::Interleaved;
  auto pos = random_positions(1, 8, 512, 12);
  ref::Mat x = random_mat(8, 128, 13);
  ref::Mat right = rotate_on_gpu(d, x, 2, RopeTable::build(d, neox, 0, 512), pos);
  ref::Mat wrong = rotate_on_gpu(d, x, 2, RopeTable::build(d, norm, 0, 512), pos);
  CHECK(max_abs_diff(right, ref::rope(x, 2, neox, pos)) <= 1e-5f);
  CHECK(max_abs_diff(wrong, right) > 0.1f);
}

TEST_CASE("rope frequency scaling follows Llama 3 and YaRN") {
  RopeConfig c;
  c.head_dim = 128;
  c.theta = 500000;
  const auto base = c.frequencies();
  c.llama3_factor = 8;
  const auto l3 = c.frequencies();
  CHECK(l3.front() == base.front());                    // short wavelengths unchanged
  CHECK(l3.back() == doctest::Approx(base.back() / 8));  // long wavelengths divided by the factor
  RopeConfig y;
  y.head_dim = 64;
  y.freq_scale = 0.25;
  y.yarn_ext_factor = 1;
  y.yarn_original_context = 4096;
  const auto yf = y.frequencies();
  CHECK(yf.front() == doctest::Approx(1.0));  // high frequencies extrapolate
  CHECK(yf.back() == doctest::Approx(std::pow(10000.0, -62.0 / 64) * 0.25));  // low ones interpolate
  CHECK(y.magnitude() == doctest::Approx(1 + 0.1 * std::log(4.0)));
}

// Llama 3.1 GGUF files store the scaling as one factor per frequency (rope_freqs.weight),
// computed as llama.cpp's converter does; dividing by them equals the scaling from config.json.
TEST_CASE("stored frequency factors reproduce Llama 3 scaling") {
  RopeConfig scaled;
  scaled.head_dim = 128;
  scaled.theta = 500000;
  scaled.llama3_factor = 8;
  scaled.llama3_low_freq_factor = 1;
  scaled.llama3_high_freq_factor = 4;
  scaled.llama3_original_context = 8192;
  RopeConfig stored;
  stored.head_dim = 128;
  stored.theta = 500000;
  const auto base = stored.frequencies();
  for (double freq : base) {
    const double wavelen = 2 * std::numbers::pi / freq, low = 8192.0 / 1, high = 8192.0 / 4;
    if (wavelen < high) stored.freq_factors.push_back(1);
    else if (wavelen > low) stored.freq_factors.push_back(8);
    else {
      const double smooth = (8192.0 / wavelen - 1) / (4 - 1);
      stored.freq_factors.push_back(1 / ((1 - smooth) / 8 + smooth));
    }
  }
  const auto a = scaled.frequencies(), b = stored.frequencies();
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) CHECK(b[i] == doctest::Approx(a[i]).epsilon(1e-12));
  stored.freq_factors.pop_back();
  CHECK_THROWS_WITH_AS(stored.frequencies(), doctest::Contains("63 frequency factors for 64 rotated pairs"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "rope rejects positions of the wrong shape and impossible configurations") {
  Device& d = gpu();
  RopeConfig c;
  c.head_dim = 64;
  RopeTable table = RopeTable::build(d, c, 0, 16);
  Tensor x = d.tensor(DType::F32, 4, 128), pos = d.tensor(DType::I32, 1, 3);
  Graph g(d);
  CHECK_THROWS_WITH_AS(ops::rope(g, x, x, 2, table, pos), doctest::Contains("positions"), Error);
  c.rotary_dim = 7;
  CHECK_THROWS_WITH_AS(c.validate(), doctest::Contains("rotary_dim must be even"), Error);
}
