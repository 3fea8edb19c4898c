// Memory: transfers round-trip exactly (direct and staging), tensors beyond one descriptor's
// range are chunked and give the same results, allocation failures name the size and heap.
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
void round_trip(Device& d) {
  for (auto [rows, cols] : odd_shapes()) {
    CAPTURE(rows);
    CAPTURE(cols);
    ref::Mat m = random_mat(rows, cols, 8);
    CHECK(to_host(d, to_device(d, m)).v == m.v);
    const ref::Mat h = round_to_f16(m);
    CHECK(to_host(d, to_device(d, h, DType::F16)).v == h.v);
  }
  // A strided view: only its elements change.
  ref::Mat base = random_mat(5, 9, 9), patch = random_mat(3, 4, 10);
  Tensor t = to_device(d, base);
  Tensor view = t.slice_rows(1, 3).slice_cols(2, 4);
  d.upload(view, patch.v.data());
  CHECK(to_host(d, view).v == patch.v);
  ref::Mat want = base;
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 4; ++c) want.at(r + 1, c + 2) = patch.at(r, c);
  CHECK(to_host(d, t).v == want.v);
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "uploads and downloads round-trip exactly") { round_trip(gpu()); }

TEST_CASE("uploads and downloads round-trip exactly through staging buffers") {
  auto d = open_device_with({{"VKLLM_FORCE_STAGING", "1"}});
  CHECK_FALSE(d->caps().unified_memory);
  round_trip(*d);
  check_no_validation_messages(*d);
}

TEST_CASE("tensors larger than the buffer range are chunked and give the same results") {
  Device& whole = gpu();
  auto small = open_device_with({{"VKLLM_MAX_BUFFER_RANGE", "1048576"}});
  CHECK(small->caps().max_buffer_range == 1048576);

  ref::Mat w = random_mat(1100, 515, 11), x = random_mat(6, 515, 12), x1 = random_mat(1, 515, 13);
  ref::Mat big = random_mat(1300, 300, 14), bias = random_mat(1, 300, 15), norm_w = random_mat(1, 300, 16);
  std::vector<int32_t> ids = {0, 1299, 650, 3, 1000, 871};
  auto run = [&](Device& d) {
    Tensor tw = to_device(d, w, DType::F16), tx = to_device(d, x), tx1 = to_device(d, x1);
    Tensor tbig = to_device(d, big), tbias = to_device(d, bias), tnorm = to_device(d, norm_w);
    Tensor tids = d.tensor(DType::I32, 1, int64_t(ids.size()));
    d.upload(tids, std::span<const int32_t>(ids));
    for (const Tensor* t : {&tw, &tbig})
      CHECK((t->storage->chunks().size() > 1) == (t->storage->size() > d.caps().max_buffer_range - 16));
    Tensor y = d.tensor(DType::F32, 6, 1100), y1 = d.tensor(DType::F32, 1, 1100), rows = d.tensor(DType::F32, 6, 300);
    Tensor sum = d.tensor(DType::F32, 1300, 300), normed = d.tensor(DType::F32, 1300, 300);
    Graph g(d);
    ops::matmul_kernel(g, tw, tx, y);
    ops::matvec_kernel(g, tw, tx1, y1);
    ops::get_rows(g, tbig, tids, rows);
    ops::add(g, tbig, tbias, sum);
    ops::rmsnorm(g, sum, tnorm, normed, 1e-5f);
    g.run();
    return std::vector<ref::Mat>{to_host(d, y), to_host(d, y1), to_host(d, rows), to_host(d, normed)};
  };
  auto a = run(whole), b = run(*small);
  for (size_t i = 0; i < a.size(); ++i) {
    CAPTURE(i);
    CHECK(a[i].v == b[i].v);  // same kernels, same order of operations: bit-identical
  }
  CHECK(max_rel_diff(a[0], ref::matmul(round_to_f16(w), x)) <= 2e-5f);
  CHECK(max_abs_diff(a[2], ref::get_rows(big, ids)) == 0.0f);
  check_no_validation_messages(*small);
}

TEST_CASE_FIXTURE(GpuTest, "an allocation larger than memory is a clear error") {
  Device& d = gpu();
  CHECK_THROWS_WITH_AS(d.tensor(DType::F32, int64_t(1) << 40, 1024, "huge"),
                       doctest::Contains("out of memory: 'huge' needs"), Error);
  CHECK_THROWS_WITH_AS(d.tensor(DType::F32, int64_t(1) << 40, int64_t(1) << 40, "vast"),
                       doctest::Contains("'vast' of 1099511627776 x 1099511627776 elements has more bytes than 64 bits count"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "freed tensors return their memory") {
  Device& d = gpu();
  const uint64_t before = d.allocator().bytes_in_use();
  {
    Tensor t = d.tensor(DType::F32, 1000, 1000, "temporary");
    CHECK(d.allocator().bytes_in_use() >= before + 4000000);
  }
  CHECK(d.allocator().bytes_in_use() == before);
}

TEST_CASE_FIXTURE(GpuTest, "transfers check the host size") {
  Device& d = gpu();
  Tensor t = d.tensor(DType::F32, 2, 3);
  std::vector<float> wrong(5);
  CHECK_THROWS_WITH_AS(d.upload(t, std::span<const float>(wrong)), doctest::Contains("does not match"), Error);
}
