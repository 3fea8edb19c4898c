// The command-buffer graph: hazards give barriers (and only hazards do), replay with new
// step values equals recording afresh.
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "a producer/consumer chain computes correctly with one barrier per dependency") {
  Device& d = gpu();
  ref::Mat a = random_mat(9, 77, 1), b = random_mat(9, 77, 2);
  Tensor ta = to_device(d, a), tb = to_device(d, b);
  Tensor s = d.tensor(DType::F32, 9, 77), t = d.tensor(DType::F32, 9, 77), u = d.tensor(DType::F32, 9, 77);
  Graph g(d);
  ops::add(g, ta, tb, s);  // s = a + b
  ops::scale(g, s, 0.5f, t);  // reads s: RAW
  ops::silu(g, t, u);         // reads t: RAW
  CHECK(g.barrier_count() == 2);
  g.run();
  CHECK(max_rel_diff(to_host(d, u), ref::silu(ref::scale(ref::add(a, b), 0.5f))) <= 2e-6f);
}

TEST_CASE_FIXTURE(GpuTest, "independent ops get no barrier between them; views of one tensor are ordered") {
  Device& d = gpu();
  ref::Mat a = random_mat(4, 50, 3);
  Tensor ta = to_device(d, a);
  Tensor o1 = d.tensor(DType::F32, 4, 50), o2 = d.tensor(DType::F32, 4, 50), both = d.tensor(DType::F32, 8, 50);
  Graph g(d);
  ops::silu(g, ta, o1);  // both read a (read-after-read is no hazard) and write different tensors
  ops::scale(g, ta, 2.0f, o2);
  CHECK(g.barrier_count() == 0);
  // Disjoint rows of one buffer: a descriptor covers the whole chunk, and synchronization
  // validation counts the whole of it as written.
  ops::scale(g, ta, 3.0f, both.slice_rows(0, 4));
  ops::scale(g, ta, 4.0f, both.slice_rows(4, 4));
  CHECK(g.barrier_count() == 1);
  g.run();
  CHECK(max_abs_diff(to_host(d, o2), ref::scale(a, 2.0f)) == 0.0f);
  ref::Mat got = to_host(d, both);
  CHECK(got.at(5, 7) == 4.0f * a.at(1, 7));
  CHECK(got.at(2, 9) == 3.0f * a.at(2, 9));
}

TEST_CASE_FIXTURE(GpuTest, "write-after-read and write-after-write are barriers too") {
  Device& d = gpu();
  ref::Mat a = random_mat(3, 40, 4);
  Tensor ta = to_device(d, a), o = d.tensor(DType::F32, 3, 40);
  Graph g(d);
  ops::scale(g, ta, 2.0f, o);  // reads a
  ops::scale(g, o, 3.0f, ta);  // writes a (WAR) after reading o (RAW): one barrier
  CHECK(g.barrier_count() == 1);
  ops::scale(g, ta, 1.0f, o);  // writes o again (WAW with the first) and reads a (RAW)
  CHECK(g.barrier_count() == 2);
  g.run();
  CHECK(max_abs_diff(to_host(d, o), ref::scale(a, 6.0f)) == 0.0f);
}

TEST_CASE_FIXTURE(GpuTest, "replaying a recorded graph with new step values equals recording afresh") {
  Device& d = gpu();
  ref::Mat x = random_mat(6, 300, 5, -4, 4);
  Tensor tx = to_device(d, x), replayed = d.tensor(DType::F32, 6, 300), fresh = d.tensor(DType::F32, 6, 300);
  Graph g(d);
  ops::softmax(g, tx, replayed, Graph::step_param(3));
  for (uint32_t n : {5u, 300u, 1u, 173u}) {
    CAPTURE(n);
    g.set_step(3, n);
    g.run();
    Graph once(d);
    ops::softmax(once, tx, fresh, n);
    once.run();
    const ref::Mat got = to_host(d, replayed);
    CHECK(got.v == to_host(d, fresh).v);  // bit-identical
    CHECK(max_abs_diff(got, ref::softmax(x, n)) <= 1e-6f);
  }
  CHECK(g.dispatch_count() == 1);
}

TEST_CASE_FIXTURE(GpuTest, "repeat runs are bit-identical") {
  Device& d = gpu();
  ref::Mat w = random_mat(300, 257, 6), x = random_mat(3, 257, 7);
  Tensor tw = to_device(d, w, DType::F16), tx = to_device(d, x), y = d.tensor(DType::F32, 3, 300);
  Tensor z = d.tensor(DType::F32, 3, 300);
  Graph g(d);
  ops::matmul(g, tw, tx, y);
  ops::softmax(g, y, z);
  g.run();
  const auto first = d.download<float>(z);
  for (int i = 0; i < 3; ++i) {
    g.run();
    CHECK(d.download<float>(z) == first);
  }
}

TEST_CASE_FIXTURE(GpuTest, "dispatch checks bindings against the op declaration") {
  Device& d = gpu();
  static const OpDecl decl{"unary", {Access::Read, Access::Write}, 7 * 4};
  const Pipeline& p = d.pipelines().get(decl, "unary", {64, 0});
  Tensor t = d.tensor(DType::F32, 1, 4);
  Graph g(d);
  uint32_t push[7] = {};
  CHECK_THROWS_WITH_AS(g.dispatch(p, std::vector<Binding>{bind(t)}, push, sizeof push, Groups{}),
                       doctest::Contains("declares 2 bindings"), Error);
  CHECK_THROWS_WITH_AS(g.dispatch(p, std::vector<Binding>{bind(t), bind(t)}, push, 4, Groups{}),
                       doctest::Contains("push-constant bytes"), Error);
}
