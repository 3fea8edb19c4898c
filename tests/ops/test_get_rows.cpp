// Embedding gather: bit-exact copies (f16 tables widen exactly to f32); block-format tables
// decode to the values the host dequantizer gives.
#include "tests/ops/blocks.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE_FIXTURE(GpuTest, "get_rows copies table rows exactly for f32 and f16 tables") {
  Device& d = gpu();
  for (DType t : {DType::F32, DType::F16})
    for (auto [rows, cols] : odd_shapes()) {
      CAPTURE(rows);
      CAPTURE(cols);
      ref::Mat table = random_mat(rows, cols, 31);
      if (t == DType::F16) table = round_to_f16(table);
      std::vector<int32_t> ids;
      for (int i = 0; i < 13; ++i) ids.push_back(int32_t((i * 7 + 3) % rows));
      Tensor tt = to_device(d, table, t), tids = d.tensor(DType::I32, 1, int64_t(ids.size()));
      d.upload(tids, std::span<const int32_t>(ids));
      Tensor out = d.tensor(DType::F32, int64_t(ids.size()), cols);
      Graph g(d);
      ops::get_rows(g, tt, tids, out);
      g.run();
      CHECK(max_abs_diff(to_host(d, out), ref::get_rows(table, ids)) == 0.0f);
    }
}

TEST_CASE_FIXTURE(GpuTest, "get_rows decodes block-format tables to their values") {
  Device& d = gpu();
  for (const BlockFormatCase& f : block_format_cases())
    for (auto [rows, blocks_per_row] : std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {9, 3}, {3000, 2}}) {
      const int64_t cols = blocks_per_row * block_layout(f.format).values;
      CAPTURE(weight_format_name(f.format));
      CAPTURE(rows);
      CAPTURE(cols);
      const auto blocks = random_blocks(f, rows, cols, uint32_t(rows + cols));
      const Weight table = Weight::from_blocks(d, f.format, rows, cols, blocks, "table");
      std::vector<int32_t> ids;
      for (int i = 0; i < 13; ++i) ids.push_back(int32_t((i * 997 + 3) % rows));
      ids.push_back(int32_t(rows - 1));
      Tensor tids = d.tensor(DType::I32, 1, int64_t(ids.size()));
      d.upload(tids, std::span<const int32_t>(ids));
      Tensor out = d.tensor(DType::F32, int64_t(ids.size()), cols);
      Graph g(d);
      ops::get_rows(g, table, tids, out);
      g.run();
      CHECK(max_rel_diff(to_host(d, out), ref::get_rows(dequantized(f, blocks, rows, cols), ids)) <= 1e-6f);
    }
}
