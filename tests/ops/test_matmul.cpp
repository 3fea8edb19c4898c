// matvec, tiled matmul and the block-format kernels vs the host reference (double accumulation).
// Tolerance: |gpu - ref| <= 2e-5 * (1 + |ref|) with inputs scaled so outputs are O(1); f16
// weights are compared against the reference run on the same f16-rounded values.
#include <algorithm>
#include <functional>

#include "host/quant.h"
#include "tests/ops/blocks.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
void check_product(DType wtype, int64_t m, int64_t k, int64_t n, bool tiled) {
  CAPTURE(m);
  CAPTURE(k);
  CAPTURE(n);
  CAPTURE(tiled);
  ref::Mat w = random_mat(m, k, uint32_t(m * 31 + k), -1.0f, 1.0f);
  for (auto& v : w.v) v /= std::sqrt(float(k));
  if (wtype == DType::F16) w = round_to_f16(w);
  ref::Mat x = random_mat(n, k, uint32_t(n * 7 + k));
  Device& d = gpu();
  Tensor tw = to_device(d, w, wtype), tx = to_device(d, x), ty = d.tensor(DType::F32, n, m, "y");
  Graph g(d);
  tiled ? ops::matmul_kernel(g, tw, tx, ty) : ops::matvec_kernel(g, tw, tx, ty);
  g.run();
  CHECK(max_rel_diff(to_host(d, ty), ref::matmul(w, x)) <= 2e-5f);
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "matvec matches the host reference for f32 and f16 weights") {
  for (DType t : {DType::F32, DType::F16})
    for (auto [m, k] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 7}, {5, 64}, {17, 255}, {64, 1000}, {130, 4096}, {9, 4099}})
      for (int64_t n : {1, 2, 3, 6, 13}) check_product(t, m, k, n, false);  // 1, 2, 4 and 8 vectors per workgroup
}

TEST_CASE_FIXTURE(GpuTest, "tiled matmul matches the host reference for f32 and f16 weights") {
  for (DType t : {DType::F32, DType::F16})
    for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 1, 1}, {31, 17, 33}, {64, 64, 64}, {100, 257, 45}, {257, 96, 7}})
      check_product(t, m, k, n, true);
}

TEST_CASE_FIXTURE(GpuTest, "matmul writes into a column slice of a wider output and reads strided inputs") {
  Device& d = gpu();
  ref::Mat w = random_mat(24, 40, 1), x = random_mat(5, 48, 2);
  Tensor tw = to_device(d, w), tx_full = to_device(d, x), ty = to_device(d, ref::Mat(5, 30));
  Tensor tx = tx_full.slice_cols(8, 40), out = ty.slice_cols(3, 24);
  ref::Mat xs(5, 40);
  for (int64_t r = 0; r < 5; ++r)
    for (int64_t c = 0; c < 40; ++c) xs.at(r, c) = x.at(r, c + 8);
  for (bool tiled : {false, true}) {
    Graph g(d);
    tiled ? ops::matmul_kernel(g, tw, tx, out) : ops::matvec_kernel(g, tw, tx, out);
    g.run();
    ref::Mat got = to_host(d, ty), want = ref::matmul(w, xs);
    for (int64_t r = 0; r < 5; ++r) {
      for (int64_t c = 0; c < 30; ++c) {
        const bool inside = c >= 3 && c < 27;
        if (inside)
          CHECK(std::fabs(got.at(r, c) - want.at(r, c - 3)) <= 2e-5f * (1 + std::fabs(want.at(r, c - 3))));
        else
          CHECK(got.at(r, c) == 0.0f);  // untouched
      }
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "matmul rejects shapes that do not fit") {
  Device& d = gpu();
  Tensor w = d.tensor(DType::F32, 8, 16), x = d.tensor(DType::F32, 2, 15), y = d.tensor(DType::F32, 2, 8);
  Graph g(d);
  CHECK_THROWS_WITH_AS(ops::matmul(g, w, x, y), doctest::Contains("shapes do not fit"), Error);
}

TEST_CASE_FIXTURE(GpuTest, "matmul gives the reference result whichever kernel it picks") {
  Device& d = gpu();
  ref::Mat w = round_to_f16(random_mat(70, 96, 41));
  for (int64_t n : {1, 8, 9, 40}) {
    CAPTURE(n);
    ref::Mat x = random_mat(n, 96, 42);
    Tensor tw = to_device(d, w, DType::F16), tx = to_device(d, x), ty = d.tensor(DType::F32, n, 70);
    Graph g(d);
    ops::matmul(g, tw, tx, ty);
    g.run();
    CHECK(max_rel_diff(to_host(d, ty), ref::matmul(w, x)) <= 2e-5f);
  }
}

// Each block format's kernel against the host dequantizer (the formats' definitions are tested
// in test_dequantize.cpp): odd row counts, 1..17 vectors and a large batch, rows split across
// buffer chunks under small buffer ranges.
TEST_CASE_FIXTURE(GpuTest, "block-format weights multiply like their dequantized values") {
  Device& d = gpu();
  for (const BlockFormatCase& f : block_format_cases()) {
    const int64_t unit = block_layout(f.format).values;
    for (auto [m, blocks_per_row] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {7, 3}, {33, 2}, {130, 16}, {2100, 8}})
      for (int64_t n : {1, 2, 3, 5, 8, 9, 17, 40}) {
        if (m > 1000 && n != 1 && n != 9) continue;  // large enough to span chunks under small buffer ranges
        const int64_t k = blocks_per_row * unit;
        CAPTURE(weight_format_name(f.format));
        CAPTURE(m);
        CAPTURE(k);
        CAPTURE(n);
        const auto blocks = random_blocks(f, m, k, uint32_t(m * 131 + k + n));
        const ref::Mat represented = dequantized(f, blocks, m, k);
        Weight w = Weight::from_blocks(d, f.format, m, k, blocks, "w");
        const ref::Mat x = random_mat(n, k, uint32_t(n + 3));
        Tensor tx = to_device(d, x), ty = d.tensor(DType::F32, n, m);
        Graph g(d);
        ops::matmul(g, w, tx, ty);
        g.run();
        // Up to 8 vectors, and where barriers are expensive, the matrix-vector kernel runs.
        const bool matvec = n <= 8 || d.caps().workgroup_barriers_expensive;
        check_block_product(to_host(d, ty), represented, x, matvec && d.caps().integer_dot_product);
      }
  }
}

TEST_CASE_FIXTURE(GpuTest, "block-format weights refuse a byte count that does not fit their shape") {
  std::vector<uint8_t> blocks(143);
  CHECK_THROWS_WITH_AS(Weight::from_blocks(gpu(), WeightFormat::Q4_K, 1, 256, blocks, "w"),
                       doctest::Contains("Q4_K weight 'w': 143 bytes for 1 x 256"), Error);
  CHECK_THROWS_WITH_AS(Weight::from_blocks(gpu(), WeightFormat::Q6_K, 1, 100, blocks, "w"),
                       doctest::Contains("whole blocks of 256"), Error);
}

namespace {
// y = r, then y += x . w^T + bias by the product's epilogue, against the same product stored
// plainly and followed by add dispatches: equal bit for bit (the same f32 operations).
void check_epilogue(const std::function<void(Graph&, const Tensor&, const Tensor&, const ops::Epilogue&)>& product,
                    int64_t m, int64_t k, int64_t n) {
  CAPTURE(m);
  CAPTURE(k);
  CAPTURE(n);
  Device& d = gpu();
  const ref::Mat x = random_mat(n, k, uint32_t(n + 11)), r = random_mat(n, m, 12), bias = random_mat(1, m, 13);
  const Tensor tx = to_device(d, x), tb = to_device(d, bias);
  const Tensor fused = to_device(d, r), biased = d.tensor(DType::F32, n, m), plain = d.tensor(DType::F32, n, m);
  const Tensor separate = to_device(d, r);
  Graph g(d);
  product(g, tx, fused, {tb, true});
  product(g, tx, biased, {tb, false});
  product(g, tx, plain, {});
  ops::add(g, plain, tb, plain);
  ops::add(g, separate, plain, separate);
  g.run();
  CHECK(max_abs_diff(to_host(d, biased), to_host(d, plain)) == 0.0f);
  CHECK(max_abs_diff(to_host(d, fused), to_host(d, separate)) == 0.0f);
  CHECK(max_abs_diff(to_host(d, fused), r) > 0.0f);  // the product was added
}
}  // namespace

TEST_CASE_FIXTURE(GpuTest, "bias and residual epilogues equal separate adds bit for bit, in every product kernel") {
  Device& d = gpu();
  for (auto [m, k, n] : std::vector<std::array<int64_t, 3>>{{1, 32, 1}, {37, 64, 3}, {70, 256, 9}, {33, 512, 40}}) {
    const Tensor w = to_device(d, round_to_f16(random_mat(m, k, 14, -0.1f, 0.1f)), DType::F16);
    check_epilogue([&](Graph& g, const Tensor& x, const Tensor& y, const ops::Epilogue& e) { ops::matvec_kernel(g, w, x, y, e); }, m, k, n);
    check_epilogue([&](Graph& g, const Tensor& x, const Tensor& y, const ops::Epilogue& e) { ops::matmul_kernel(g, w, x, y, e); }, m, k, n);
    for (const BlockFormatCase& f : block_format_cases()) {
      if (k % block_layout(f.format).values) continue;
      CAPTURE(weight_format_name(f.format));
      const Weight bw = Weight::from_blocks(d, f.format, m, k, random_blocks(f, m, k, uint32_t(m + k)), "w");
      // 1..8 vectors take the matrix-vector kernel; 9 and 40 the tiled one where barriers are cheap.
      check_epilogue([&](Graph& g, const Tensor& x, const Tensor& y, const ops::Epilogue& e) { ops::matmul(g, bw, x, y, 0, e); }, m, k, n);
    }
  }
}

TEST_CASE_FIXTURE(GpuTest, "stacked weights compute what their parts compute, in one product per run of one format") {
  Device& d = gpu();
  const auto& cases = block_format_cases();
  auto find = [&](WeightFormat f) {
    return *std::find_if(cases.begin(), cases.end(), [&](const BlockFormatCase& c) { return c.format == f; });
  };
  const int64_t k = 512;
  const std::vector<std::pair<WeightFormat, int64_t>> parts{{WeightFormat::Q8_0, 40}, {WeightFormat::Q8_0, 24}, {WeightFormat::Q6_K, 24}};
  std::vector<Weight> weights, copies;
  std::vector<Tensor> biases;
  int64_t m = 0;
  for (auto [format, rows] : parts) {
    const auto blocks = random_blocks(find(format), rows, k, uint32_t(rows + m));
    weights.push_back(Weight::from_blocks(d, format, rows, k, blocks, "part"));
    copies.push_back(Weight::from_blocks(d, format, rows, k, blocks, "copy"));
    biases.push_back(to_device(d, random_mat(1, rows, uint32_t(m + 1))));
    m += rows;
  }
  const uint64_t before = d.allocator().bytes_in_use();
  const StackedWeight stacked = stack_rows(d, std::move(weights), "stacked");
  CHECK(d.allocator().bytes_in_use() <= before);  // the parts' storage went with them
  REQUIRE(stacked.parts.size() == 2);             // the two Q8_0 parts as one matrix, the Q6_K apart
  CHECK(stacked.parts[0].rows() == 64);
  CHECK(stacked.rows() == m);
  const Tensor bias = stack_cols(d, biases, "bias");
  for (int64_t n : {1, 5, 17}) {
    CAPTURE(n);
    const Tensor x = to_device(d, random_mat(n, k, uint32_t(n))), y = d.tensor(DType::F32, n, m), want = d.tensor(DType::F32, n, m);
    Graph g(d);
    ops::matmul(g, stacked, x, y, 0, {bias});
    for (int64_t i = 0, first = 0; i < 3; first += copies[size_t(i)].rows(), ++i)
      ops::matmul(g, copies[size_t(i)], x, want.slice_cols(first, copies[size_t(i)].rows()), 0, {biases[size_t(i)]});
    g.run();
    CHECK(max_abs_diff(to_host(d, y), to_host(d, want)) == 0.0f);
  }
  CHECK_THROWS_WITH_AS(stack_cols(d, {biases[0], Tensor{}}, "b"), doctest::Contains("some rows are absent"), Error);
}
