// Attention over a cache vs a naive double-precision reference.
// Tolerance: |gpu - ref| <= 2e-5 * (1 + |ref|) for f32 caches; f16 and block (q8_0, q4_0)
// caches are compared with the reference run on the values they hold (f16-rounded, or
// quantized and dequantized on the host).
#include <numeric>
#include <optional>

#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {

struct Case {
  int n_heads, n_kv_heads, head_dim;
  int64_t capacity, n_kv, n_q;
  ops::AttentionMask mask = ops::AttentionMask::Causal;
  DType cache = DType::F32;
  float softcap = 0;
  bool explicit_mask = false;
  bool mask_per_head = false;  // the explicit mask has a block of rows per head
  std::optional<DType> v_cache = std::nullopt;  // V's type where it differs from K's
};

std::vector<int32_t> iota_vec(int64_t n, int32_t first = 0) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  std::iota(v.begin(), v.end(), first);
  return v;
}

Tensor i32_row(Device& d, const std::vector<int32_t>& v) {
  Tensor t = d.tensor(DType::I32, 1, int64_t(v.size()), "positions");
  d.upload(t, v.data());
  return t;
}

ops::AttentionParams params_for(const Case& c) {
  ops::AttentionParams a;
  a.n_heads = c.n_heads;
  a.n_kv_heads = c.n_kv_heads;
  a.head_dim = c.head_dim;
  a.mask = c.mask;
  a.prefix = 5;
  a.window = 64;
  a.softcap = c.softcap;
  a.n_kv = uint32_t(c.n_kv);
  a.first_query_slot = uint32_t(c.n_kv - c.n_q);
  return a;
}

ref::AttentionSpec spec_for(const Case& c, const ref::Mat* mask) {
  ref::AttentionSpec s{c.n_heads, c.n_kv_heads, c.head_dim};
  s.mask = int(c.mask);
  s.prefix = 5;
  s.window = 64;
  s.softcap = c.softcap;
  s.n_kv = c.n_kv;
  s.first_query_slot = c.n_kv - c.n_q;
  s.explicit_mask = mask;
  return s;
}

void check_case(const Case& c) {
  CAPTURE(c.n_heads);
  CAPTURE(c.n_kv_heads);
  CAPTURE(c.head_dim);
  CAPTURE(c.n_kv);
  CAPTURE(c.n_q);
  CAPTURE(int(c.mask));
  Device& d = gpu();
  const int64_t kv_width = int64_t(c.n_kv_heads) * c.head_dim;
  ref::Mat q = random_mat(c.n_q, int64_t(c.n_heads) * c.head_dim, 1, -2, 2);
  const DType v_type = c.v_cache.value_or(c.cache);
  CAPTURE(dtype_name(c.cache));
  CAPTURE(dtype_name(v_type));
  const ref::Mat k = as_stored(random_mat(c.capacity, kv_width, 2, -2, 2), c.cache);
  const ref::Mat v = as_stored(random_mat(c.capacity, kv_width, 3), v_type);
  ref::Mat mask;
  if (c.explicit_mask) {
    mask = random_mat(c.mask_per_head ? c.n_heads * c.n_q : c.n_q, c.capacity, 4, -3, 0);
    for (size_t i = 0; i < mask.v.size(); i += 7) mask.v[i] = -INFINITY;
  }
  const auto key_pos = iota_vec(c.capacity), query_pos = iota_vec(c.n_q, int32_t(c.n_kv - c.n_q));
  Tensor tq = to_device(d, q), tk = to_device(d, k, c.cache), tv = to_device(d, v, v_type);
  Tensor tkp = i32_row(d, key_pos), tqp = i32_row(d, query_pos), tm;
  if (c.explicit_mask) tm = to_device(d, mask);
  Tensor out = d.tensor(DType::F32, q.rows, q.cols);
  auto a = params_for(c);
  if (c.explicit_mask) a.explicit_mask = &tm;
  Graph g(d);
  ops::attention(g, tq, tk, tv, tkp, tqp, out, a);
  g.run();
  ref::Mat want = ref::attention(q, k, v, key_pos, query_pos, spec_for(c, c.explicit_mask ? &mask : nullptr));
  CHECK(max_rel_diff(to_host(d, out), want) <= 2e-5f);
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "attention matches the reference for every mask, GQA ratio and head size") {
  using M = ops::AttentionMask;
  for (M mask : {M::None, M::Causal, M::PrefixLM, M::SlidingWindow, M::BidirectionalWindow})
    for (int group : {1, 2, 4, 8})
      for (int hd : {64, 80, 128})
        for (int64_t n_q : {1, 9}) check_case({group * 2, 2, hd, 320, 300, n_q, mask});
}

TEST_CASE_FIXTURE(GpuTest, "attention over contexts from 1 to 4096, decode and prefill") {
  for (int64_t n_kv : {1, 2, 17, 1000, 4096}) {
    check_case({8, 2, 128, 4096, n_kv, 1});
    check_case({4, 4, 64, 4096, n_kv, std::min<int64_t>(n_kv, 6)});
  }
}

TEST_CASE_FIXTURE(GpuTest, "a long prefill stays correct where workgroups would exceed the driver's barrier budget") {
  // lavapipe stops a workgroup after 65536 barriers; without subgroup arithmetic one query
  // block over 16384 keys would need about 82000.
  check_case({1, 1, 64, 16384, 16384, 6});
}

TEST_CASE_FIXTURE(GpuTest, "attention reads f16 caches, and applies soft-capping and explicit masks, shared or per head") {
  if (gpu().caps().f16_storage) check_case({8, 2, 80, 700, 650, 3, ops::AttentionMask::Causal, DType::F16});
  check_case({4, 2, 64, 200, 180, 5, ops::AttentionMask::Causal, DType::F32, 0.5f});
  check_case({4, 1, 64, 200, 180, 5, ops::AttentionMask::None, DType::F32, 0, true});
  for (int64_t n_q : {1, 3, 9})  // decode and prefill kernels
    check_case({4, 2, 64, 200, 180, n_q, ops::AttentionMask::Causal, DType::F32, 0, true, true});
}

TEST_CASE_FIXTURE(GpuTest, "a two-way window sees its own widths before and after the query") {
  // T5Gemma 2's encoder: window 7 sees 4 keys up to the query and 3 after it.
  Device& d = gpu();
  const int64_t n = 40;
  ref::Mat q = random_mat(n, 2 * 64, 12, -2, 2), k = random_mat(n, 64, 13, -2, 2), v = random_mat(n, 64, 14);
  const auto pos = iota_vec(n);
  Tensor tq = to_device(d, q), tk = to_device(d, k), tv = to_device(d, v), tp = i32_row(d, pos), out = d.tensor(DType::F32, n, 2 * 64);
  ops::AttentionParams a;
  a.n_heads = 2;
  a.n_kv_heads = 1;
  a.head_dim = 64;
  a.mask = ops::AttentionMask::BidirectionalWindow;
  a.window = 4;
  a.window_after = 4;
  Graph g(d);
  ops::attention(g, tq, tk, tv, tp, tp, out, a);
  g.run();
  ref::AttentionSpec s{2, 1, 64};
  s.mask = 4;
  s.window = 4;
  s.window_after = 4;
  ref::Mat probs;
  const ref::Mat want = ref::attention(q, k, v, pos, pos, s, &probs);
  CHECK(max_rel_diff(to_host(d, out), want) <= 2e-5f);
  for (int64_t t = 0; t < n; ++t) CHECK((probs.at(20, t) > 0) == (t > 16 && t < 24));  // head 0, query 20
}

TEST_CASE_FIXTURE(GpuTest, "attention over two caches takes one softmax over both, each with its own mask") {
  // As T5Gemma 2's decoder: its own keys causally (or in a window), the encoder's all. The
  // reference sees both caches as one, masked explicitly.
  Device& d = gpu();
  const int heads = 4, kv_heads = 2, hd = 64, kvw = kv_heads * hd;
  for (const int64_t n_q : {int64_t(1), int64_t(6)})
    for (const bool sliding : {false, true})
      for (const int64_t n_cross : {int64_t(1), int64_t(33), int64_t(600)}) {
        CAPTURE(n_q);
        CAPTURE(sliding);
        CAPTURE(n_cross);
        const int64_t self_cap = 50, self_kv = 40, cross_cap = 700;
        ref::Mat q = random_mat(n_q, heads * hd, 15, -2, 2);
        ref::Mat ks = random_mat(self_cap, kvw, 16, -2, 2), vs = random_mat(self_cap, kvw, 17);
        ref::Mat kc = random_mat(cross_cap, kvw, 18, -2, 2), vc = random_mat(cross_cap, kvw, 19);
        const auto self_pos = iota_vec(self_cap), cross_pos = iota_vec(cross_cap), query_pos = iota_vec(n_q, int32_t(self_kv - n_q));
        Tensor tq = to_device(d, q), tks = to_device(d, ks), tvs = to_device(d, vs), tkc = to_device(d, kc), tvc = to_device(d, vc);
        Tensor tsp = i32_row(d, self_pos), tcp = i32_row(d, cross_pos), tqp = i32_row(d, query_pos);
        Tensor out = d.tensor(DType::F32, n_q, heads * hd);
        ops::AttentionParams self;
        self.n_heads = heads;
        self.n_kv_heads = kv_heads;
        self.head_dim = hd;
        self.scale = 0.1f;
        self.mask = sliding ? ops::AttentionMask::SlidingWindow : ops::AttentionMask::Causal;
        self.window = 8;
        self.n_kv = uint32_t(self_kv);
        ops::AttentionParams cross = self;
        cross.mask = ops::AttentionMask::None;
        cross.n_kv = uint32_t(n_cross);
        const ops::AttentionKeys sources[] = {{tks, tvs, tsp, self}, {tkc, tvc, tcp, cross}};
        Graph g(d);
        ops::attention(g, tq, sources, tqp, out);
        g.run();

        ref::Mat k(self_kv + n_cross, kvw), v(self_kv + n_cross, kvw), mask(n_q, self_kv + n_cross);
        std::copy_n(ks.v.begin(), self_kv * kvw, k.v.begin());
        std::copy_n(kc.v.begin(), n_cross * kvw, k.v.begin() + self_kv * kvw);
        std::copy_n(vs.v.begin(), self_kv * kvw, v.v.begin());
        std::copy_n(vc.v.begin(), n_cross * kvw, v.v.begin() + self_kv * kvw);
        for (int64_t i = 0; i < n_q; ++i)
          for (int64_t t = 0; t < self_kv; ++t) {
            const int32_t before = query_pos[size_t(i)] - self_pos[size_t(t)];
            if (before < 0 || (sliding && before >= 8)) mask.at(i, t) = -INFINITY;
          }
        ref::AttentionSpec s{heads, kv_heads, hd};
        s.scale = 0.1f;
        s.mask = 0;
        s.explicit_mask = &mask;
        const std::vector<int32_t> unused(static_cast<size_t>(self_kv + n_cross));
        CHECK(max_rel_diff(to_host(d, out), ref::attention(q, k, v, unused, query_pos, s)) <= 2e-5f);
      }
}

TEST_CASE_FIXTURE(GpuTest, "a query that sees no key gives zeros, not NaN") {
  Device& d = gpu();
  ref::Mat q = random_mat(2, 64, 5), k = random_mat(8, 64, 6);
  Tensor tq = to_device(d, q), tk = to_device(d, k), out = d.tensor(DType::F32, 2, 64);
  Tensor kp = i32_row(d, iota_vec(8, 10)), qp = i32_row(d, {3, 4});  // every key lies in the future
  ops::AttentionParams a;
  a.n_heads = a.n_kv_heads = 1;
  a.head_dim = 64;
  Graph g(d);
  ops::attention(g, tq, tk, tk, kp, qp, out, a);
  g.run();
  for (float x : to_host(d, out).v) CHECK(x == 0.0f);
}

TEST_CASE_FIXTURE(GpuTest, "attention probabilities match the reference and sum to one, for every cache type") {
  Device& d = gpu();
  for (DType type : {DType::F32, DType::F16, DType::Q8_0, DType::Q4_0}) {
    if (type == DType::F16 && !d.caps().f16_storage) continue;
    CAPTURE(dtype_name(type));
    Case c{8, 2, 64, 100, 90, 3, ops::AttentionMask::SlidingWindow};
    const ref::Mat q = random_mat(3, 8 * 64, 7), k = as_stored(random_mat(100, 2 * 64, 8), type);
    const auto kp = iota_vec(100), qp = iota_vec(3, 87);
    Tensor tq = to_device(d, q), tk = to_device(d, k, type), tkp = i32_row(d, kp), tqp = i32_row(d, qp);
    Tensor probs = d.tensor(DType::F32, 8 * 3, 100);
    Graph g(d);
    ops::attention_probs(g, tq, tk, tkp, tqp, probs, params_for(c));
    g.run();
    ref::Mat want;
    ref::attention(q, k, k, kp, qp, spec_for(c, nullptr), &want);
    ref::Mat got = to_host(d, probs);
    for (int64_t r = 0; r < got.rows; ++r) {
      double sum = 0;
      for (int64_t t = 0; t < 90; ++t) {
        CHECK(std::fabs(got.at(r, t) - want.at(r, t)) <= 1e-6f);
        sum += got.at(r, t);
      }
      CHECK(sum == doctest::Approx(1.0).epsilon(1e-5));
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "cached decode, replayed step by step, equals attention over the whole sequence") {
  Device& d = gpu();
  const int n = 40, heads = 4, kv_heads = 2, hd = 64;
  ref::Mat q = random_mat(n, heads * hd, 9), k = random_mat(n, kv_heads * hd, 10), v = random_mat(n, kv_heads * hd, 11);
  Tensor tq = to_device(d, q), tk = to_device(d, k), tv = to_device(d, v), kp = i32_row(d, iota_vec(n));
  // Whole sequence at once (prefill path).
  Tensor all_out = d.tensor(DType::F32, n, heads * hd);
  ops::AttentionParams a;
  a.n_heads = heads;
  a.n_kv_heads = kv_heads;
  a.head_dim = hd;
  {
    Graph g(d);
    ops::attention(g, tq, tk, tv, kp, i32_row(d, iota_vec(n)), all_out, a);
    g.run();
  }
  // One query per step through one recorded graph: the step value says how many keys exist.
  Tensor q1 = d.tensor(DType::F32, 1, heads * hd), qp1 = d.tensor(DType::I32, 1, 1), out1 = d.tensor(DType::F32, 1, heads * hd);
  a.n_kv = Graph::step_param(0);
  Graph step(d);
  ops::attention(step, q1, tk, tv, kp, qp1, out1, a);
  ref::Mat all = to_host(d, all_out);
  for (int t = 0; t < n; ++t) {
    d.upload(q1, q.v.data() + t * heads * hd);
    d.upload(qp1, std::vector<int32_t>{t}.data());
    step.set_step(0, uint32_t(t + 1));
    step.run();
    ref::Mat got = to_host(d, out1), want(1, heads * hd);
    std::copy_n(all.v.begin() + t * heads * hd, heads * hd, want.v.begin());
    CHECK(max_rel_diff(got, want) <= 1e-5f);
  }
  CHECK(step.dispatch_count() == 1);
}

TEST_CASE_FIXTURE(GpuTest, "attention rejects inconsistent shapes") {
  Device& d = gpu();
  Tensor q = d.tensor(DType::F32, 2, 192), k = d.tensor(DType::F32, 16, 128), out = d.tensor(DType::F32, 2, 192);
  Tensor kp = i32_row(d, iota_vec(16)), qp = i32_row(d, {0, 1});
  ops::AttentionParams a;
  a.n_heads = 3;
  a.n_kv_heads = 2;
  a.head_dim = 64;
  Graph g(d);
  CHECK_THROWS_WITH_AS(ops::attention(g, q, k, k, kp, qp, out, a), doctest::Contains("multiple of n_kv_heads"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "attention reads q8_0 and q4_0 K/V as the host reference's dequantized values") {
  using M = ops::AttentionMask;
  const bool f16 = gpu().caps().f16_storage;
  for (DType t : {DType::Q8_0, DType::Q4_0})
    for (int64_t n_q : {1, 3, 9})  // decode and prefill kernels
      for (int hd : {32, 64, 128}) check_case({4, 2, hd, 300, 290, n_q, M::Causal, t});
  // Odd contexts, GQA and MQA, windows, a kv head narrower than a block, soft-capping.
  check_case({8, 1, 64, 1000, 999, 1, M::SlidingWindow, DType::Q8_0});
  check_case({6, 2, 16, 77, 77, 7, M::Causal, DType::Q4_0});
  check_case({4, 2, 16, 40, 33, 1, M::PrefixLM, DType::Q8_0, 30.0f});
  check_case({4, 4, 96, 4096, 4096, 1, M::Causal, DType::Q8_0});
  // K and V of different types.
  check_case({4, 2, 64, 200, 180, 1, M::Causal, DType::Q8_0, 0, false, false, DType::F32});
  check_case({4, 2, 64, 200, 180, 9, M::Causal, DType::F32, 0, false, false, DType::Q4_0});
  check_case({4, 2, 64, 200, 180, 1, M::Causal, DType::Q4_0, 0, false, false, DType::Q8_0});
  if (f16) check_case({4, 2, 64, 200, 180, 5, M::Causal, DType::Q8_0, 0, false, false, DType::F16});
}
