// add, mul, glu, scale, silu, gelu, softcap, relu vs the host reference.
// Tolerances: add/mul/scale are exact (one f32 rounding, like the host); silu and gelu within
// 2e-6 * (1 + |ref|) (GPU exp/erf approximations against double-precision references).
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "add and mul are exact, with and without a broadcast row") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat a = random_mat(rows, cols, 1), b = random_mat(rows, cols, 2), row = random_mat(1, cols, 3);
    Tensor ta = to_device(d, a), tb = to_device(d, b), trow = to_device(d, row);
    Tensor o1 = d.tensor(DType::F32, rows, cols), o2 = d.tensor(DType::F32, rows, cols), o3 = d.tensor(DType::F32, rows, cols);
    Graph g(d);
    ops::add(g, ta, tb, o1);
    ops::mul(g, ta, tb, o2);
    ops::add(g, ta, trow, o3);
    g.run();
    CHECK(max_abs_diff(to_host(d, o1), ref::add(a, b)) == 0.0f);
    CHECK(max_abs_diff(to_host(d, o2), ref::mul(a, b)) == 0.0f);
    CHECK(max_abs_diff(to_host(d, o3), ref::add(a, row)) == 0.0f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "scale, silu, gelu, softcap and relu match the host reference") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat x = random_mat(rows, cols, 4, -12.0f, 12.0f);
    Tensor tx = to_device(d, x);
    Tensor os = d.tensor(DType::F32, rows, cols), osilu = d.tensor(DType::F32, rows, cols);
    Tensor ot = d.tensor(DType::F32, rows, cols), oe = d.tensor(DType::F32, rows, cols);
    Graph g(d);
    ops::scale(g, tx, -0.37f, os);
    ops::silu(g, tx, osilu);
    ops::gelu(g, tx, ot, ops::GeluForm::Tanh);
    ops::gelu(g, tx, oe, ops::GeluForm::Erf);
    Tensor ocap = d.tensor(DType::F32, rows, cols);
    ops::softcap(g, tx, 5.0f, ocap);
    Tensor orelu = d.tensor(DType::F32, rows, cols);
    ops::relu(g, tx, orelu);
    g.run();
    CHECK(max_abs_diff(to_host(d, orelu), ref::relu(x)) == 0.0f);
    ref::Mat capped = x;
    for (float& v : capped.v) v = float(5.0 * std::tanh(double(v) / 5.0));
    CHECK(max_rel_diff(to_host(d, ocap), capped) <= 2e-6f);
    CHECK(max_abs_diff(to_host(d, os), ref::scale(x, -0.37f)) == 0.0f);
    CHECK(max_rel_diff(to_host(d, osilu), ref::silu(x)) <= 2e-6f);
    CHECK(max_rel_diff(to_host(d, ot), ref::gelu_tanh(x)) <= 2e-6f);
    CHECK(max_rel_diff(to_host(d, oe), ref::gelu_erf(x)) <= 2e-6f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "glu multiplies each activation of the gate by up, from column halves of one tensor") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat both = random_mat(rows, 2 * cols, 6, -12.0f, 12.0f), gate(rows, cols), up(rows, cols);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c) gate.at(r, c) = both.at(r, c), up.at(r, c) = both.at(r, cols + c);
    Tensor tb = to_device(d, both), tg = tb.slice_cols(0, cols), tu = tb.slice_cols(cols, cols);
    const std::pair<ops::Activation, ref::Mat> cases[] = {{ops::Activation::Silu, ref::silu(gate)},
                                                          {ops::Activation::GeluTanh, ref::gelu_tanh(gate)},
                                                          {ops::Activation::GeluErf, ref::gelu_erf(gate)}};
    for (const auto& [act, activated] : cases) {
      Tensor out = d.tensor(DType::F32, rows, cols);
      Graph g(d);
      ops::glu(g, tg, tu, out, act);
      g.run();
      CHECK(max_rel_diff(to_host(d, out), ref::mul(activated, up)) <= 4e-6f);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "elementwise ops work in place and on strided views") {
  Device& d = gpu();
  ref::Mat a = random_mat(6, 20, 5);
  Tensor ta = to_device(d, a);
  Tensor view = ta.slice_cols(3, 11).slice_rows(1, 4);
  Graph g(d);
  ops::silu(g, view, view);
  g.run();
  ref::Mat got = to_host(d, ta), want = a;
  for (int64_t r = 1; r < 5; ++r)
    for (int64_t c = 3; c < 14; ++c) want.at(r, c) = float(a.at(r, c) / (1.0 + std::exp(-double(a.at(r, c)))));
  CHECK(max_rel_diff(got, want) <= 2e-6f);
}

TEST_CASE_FIXTURE(GpuTest, "binary ops reject mismatched shapes") {
  Device& d = gpu();
  Tensor a = d.tensor(DType::F32, 4, 8), b = d.tensor(DType::F32, 3, 8), o = d.tensor(DType::F32, 4, 8);
  Graph g(d);
  CHECK_THROWS_WITH_AS(ops::add(g, a, b, o), doctest::Contains("neither the shape"), Error);
  CHECK_THROWS_WITH_AS(ops::silu(g, a, b), doctest::Contains("shapes differ"), Error);
}
