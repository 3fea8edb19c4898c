// rmsnorm and layernorm vs the host reference (double accumulation).
// Tolerance: 5e-6 * (1 + |ref|).
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "rmsnorm matches the host reference") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat x = random_mat(rows, cols, 11, -3, 3), w = random_mat(1, cols, 12, 0.5f, 1.5f);
    Tensor tx = to_device(d, x), tw = to_device(d, w), to = d.tensor(DType::F32, rows, cols);
    Graph g(d);
    ops::rmsnorm(g, tx, tw, to, 1e-5f);
    g.run();
    CHECK(max_rel_diff(to_host(d, to), ref::rmsnorm(x, w.v, 1e-5f)) <= 5e-6f);
  }
}

// Gemma 3's QK-norm: each head of q, a column slice of the fused q/k/v rows, by itself.
TEST_CASE_FIXTURE(GpuTest, "rmsnorm normalizes each head of a strided view by itself") {
  Device& d = gpu();
  for (auto [rows, head_dim] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(head_dim);
    const int64_t heads = 3, width = heads * head_dim + 5;  // 5 columns of other heads after q
    ref::Mat qkv = random_mat(rows, width, 16, -3, 3), w = random_mat(1, head_dim, 17, 0.5f, 1.5f);
    Tensor t = to_device(d, qkv), tw = to_device(d, w);
    const Tensor q = t.slice_cols(0, heads * head_dim);
    Graph g(d);
    ops::rmsnorm(g, q, tw, q, 1e-6f);
    g.run();
    ref::Mat q_host(rows, heads * head_dim);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < q_host.cols; ++c) q_host.at(r, c) = qkv.at(r, c);
    const ref::Mat want = ref::rmsnorm(q_host, w.v, 1e-6f), got = to_host(d, t);
    float worst = 0;
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < q_host.cols; ++c)
        worst = std::max(worst, std::abs(got.at(r, c) - want.at(r, c)) / (1 + std::abs(want.at(r, c))));
      for (int64_t c = q_host.cols; c < width; ++c) REQUIRE(got.at(r, c) == qkv.at(r, c));  // untouched
    }
    CHECK(worst <= 5e-6f);
  }
}

// Gemma's post-norms: out += rmsnorm(x), bit for bit the norm then an add.
TEST_CASE_FIXTURE(GpuTest, "rmsnorm accumulating into out equals the norm then an add") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat x = random_mat(rows, cols, 18, -3, 3), w = random_mat(1, cols, 19, 0.5f, 1.5f), r = random_mat(rows, cols, 20);
    Tensor tx = to_device(d, x), tw = to_device(d, w), fused = to_device(d, r), apart = to_device(d, r), normed = d.tensor(DType::F32, rows, cols);
    Graph g(d);
    ops::rmsnorm(g, tx, tw, fused, 1e-6f, true);
    ops::rmsnorm(g, tx, tw, normed, 1e-6f);
    ops::add(g, apart, normed, apart);
    g.run();
    CHECK(to_host(d, fused).v == to_host(d, apart).v);
  }
}

TEST_CASE_FIXTURE(GpuTest, "layernorm matches the host reference") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    // An offset mean checks the two-pass variance.
    ref::Mat x = random_mat(rows, cols, 13, 40, 46), w = random_mat(1, cols, 14), b = random_mat(1, cols, 15);
    Tensor tx = to_device(d, x), tw = to_device(d, w), tb = to_device(d, b), to = d.tensor(DType::F32, rows, cols);
    Graph g(d);
    ops::layernorm(g, tx, tw, tb, to, 1e-5f);
    g.run();
    CHECK(max_rel_diff(to_host(d, to), ref::layernorm(x, w.v, b.v, 1e-5f)) <= 5e-6f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "norms reject a weight of the wrong length") {
  Device& d = gpu();
  Tensor x = d.tensor(DType::F32, 2, 8), w = d.tensor(DType::F32, 1, 7), o = d.tensor(DType::F32, 2, 8);
  Graph g(d);
  CHECK_THROWS_WITH_AS(ops::rmsnorm(g, x, w, o, 1e-5f), doctest::Contains("one row of 8 values or of a divisor"), Error);
}
