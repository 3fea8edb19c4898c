// T5's relative position bias (position_bias.comp) and the bucket of each distance.
#include <cmath>

#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kPositionBias{"position_bias", {Access::Read, Access::Read, Access::Read, Access::Read, Access::Write}, 12 * 4};
constexpr uint32_t kLocal = 256;
}  // namespace

std::vector<int32_t> relative_position_buckets(int num_buckets, int max_distance, bool bidirectional) {
  require(num_buckets >= 4 && max_distance > num_buckets / 2, "relative position buckets: need at least 4 buckets and max_distance past the exact ones");
  const int n = bidirectional ? num_buckets / 2 : num_buckets, max_exact = n / 2;
  std::vector<int32_t> out;
  for (int d = 0; d <= max_distance; ++d) {
    if (d < max_exact) {
      out.push_back(d);
      continue;
    }
    // llama.cpp's arithmetic, type for type: logf of the ratio, times the log buckets in
    // float, over the double log of the range, floored as a float.
    const float log_ratio = std::log(float(double(d) / max_exact)) * float(n - max_exact);
    const double large = double(max_exact) + double(log_ratio) / std::log(double(max_distance) / max_exact);
    out.push_back(std::min(int32_t(std::floor(float(large))), int32_t(n - 1)));
  }
  return out;
}

void position_bias(Graph& g, const Tensor& table, const Tensor& by_distance, bool bidirectional, const Tensor& key_positions,
                   const Tensor& query_positions, const Tensor& out) {
  require_dtype(table, DType::F32, "position_bias");
  require_dtype(by_distance, DType::I32, "position_bias");
  require_dtype(key_positions, DType::I32, "position_bias");
  require_dtype(query_positions, DType::I32, "position_bias");
  require_dtype(out, DType::F32, "position_bias");
  const int64_t n_q = query_positions.cols, heads = table.cols;
  require(by_distance.rows == 1 && by_distance.cols > 0, "position_bias: by_distance must be one row of buckets");
  require(query_positions.rows == 1 && out.rows == heads * n_q && key_positions.cols >= out.cols,
          "position_bias: " + out.describe() + " must be [heads * n_q, keys] for " + query_positions.describe() + " and " +
              key_positions.describe());
  for (const Tensor* t : {&table, &by_distance, &key_positions, &query_positions, &out})
    require(t->storage->chunks().size() == 1, "position_bias: " + t->describe() + " must lie in one buffer range");
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(kPositionBias, "position_bias", {kLocal});
  const Binding bt = bind(table), bb = bind(by_distance), bk = bind(key_positions), bq = bind(query_positions), bo = bind(out);
  struct {
    uint32_t n_q, n_heads, cols, table_off, table_stride, buckets_off, n_distances, kpos_off, qpos_off, o_off, o_stride;
    uint32_t bidirectional_offset;
  } push{u32(n_q), u32(heads), u32(out.cols), bt.elem_offset, u32(table.row_stride), bb.elem_offset, u32(by_distance.cols),
         bk.elem_offset, bq.elem_offset, bo.elem_offset, u32(out.row_stride), bidirectional ? u32(table.rows / 2) : 0u};
  g.dispatch(pipe, {bt, bb, bk, bq, bo}, push, groups_for(uint64_t(out.rows) * uint64_t(out.cols), kLocal, d.caps()));
}

}  // namespace vkllm::ops
