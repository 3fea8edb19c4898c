// Row softmax vs the host reference. Tolerance: 1e-6 absolute (outputs are in [0, 1]).
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "softmax matches the host reference, all columns and a valid prefix") {
  Device& d = gpu();
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat x = random_mat(rows, cols, 21, -30, 30);
    Tensor tx = to_device(d, x), all = d.tensor(DType::F32, rows, cols), part = d.tensor(DType::F32, rows, cols);
    const int64_t n_valid = (cols + 1) / 2;
    Graph g(d);
    ops::softmax(g, tx, all);
    ops::softmax(g, tx, part, uint32_t(n_valid));
    g.run();
    CHECK(max_abs_diff(to_host(d, all), ref::softmax(x, cols)) <= 1e-6f);
    CHECK(max_abs_diff(to_host(d, part), ref::softmax(x, n_valid)) <= 1e-6f);
  }
}

TEST_CASE_FIXTURE(GpuTest, "softmax of huge logits does not overflow") {
  Device& d = gpu();
  ref::Mat x(1, 5);
  x.v = {1e30f, 1e30f, -1e30f, 0.0f, 88.0f};
  Tensor tx = to_device(d, x), to = d.tensor(DType::F32, 1, 5);
  Graph g(d);
  ops::softmax(g, tx, to);
  g.run();
  ref::Mat got = to_host(d, to);
  CHECK(got.v[0] == doctest::Approx(0.5));
  CHECK(got.v[1] == doctest::Approx(0.5));
  CHECK(got.v[2] == 0.0f);
}
