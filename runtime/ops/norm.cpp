// rmsnorm (rmsnorm.comp) and layernorm (layernorm.comp): one workgroup per row.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kRmsNorm{"rmsnorm", {Access::Read, Access::Read, Access::Write}, 9 * 4};
const OpDecl kRmsNormAccumulate{"rmsnorm", {Access::Read, Access::Read, Access::ReadWrite}, 9 * 4};
const OpDecl kLayerNorm{"layernorm", {Access::Read, Access::Read, Access::Read, Access::Write}, 9 * 4};

void check_vector(const Tensor& v, const Tensor& x, const char* op) {
  require_dtype(v, DType::F32, op);
  require(v.rows == 1 && v.cols == x.cols, std::string(op) + ": " + v.describe() + " must be one row of " +
                                               std::to_string(x.cols) + " values");
}
}  // namespace

void rmsnorm(Graph& g, const Tensor& x, const Tensor& weight, const Tensor& out, float eps, bool accumulate) {
  require_dtype(x, DType::F32, "rmsnorm");
  require_dtype(out, DType::F32, "rmsnorm");
  require_same_shape(x, out, "rmsnorm");
  require_dtype(weight, DType::F32, "rmsnorm");
  require(weight.rows == 1 && weight.cols > 0 && x.cols % weight.cols == 0,
          "rmsnorm: " + weight.describe() + " must be one row of " + std::to_string(x.cols) + " values or of a divisor of it");
  const int64_t segments = x.cols / weight.cols;
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);
  const Pipeline& pipe =
      d.pipelines().get(accumulate ? kRmsNormAccumulate : kRmsNorm, reduce_variant(d, "rmsnorm"), {local, accumulate ? 1u : 0u});
  const Binding bw = bind(weight);
  for (auto [r0, n] : split_rows(x.rows, {&x, &out})) {
    Binding bx = bind_rows(x, r0, n), bo = bind_rows(out, r0, n);
    struct {
      uint32_t rows, segments, cols, x_off, x_stride, w_off, o_off, o_stride;
      float eps;
    } push{u32(n), u32(segments), u32(weight.cols), bx.elem_offset, u32(x.row_stride), bw.elem_offset,
           bo.elem_offset, u32(out.row_stride), eps};
    g.dispatch(pipe, {bx, bw, bo}, push, groups_for(uint64_t(n * segments) * local, local, d.caps()));
  }
}

void layernorm(Graph& g, const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& out, float eps) {
  require_dtype(x, DType::F32, "layernorm");
  require_dtype(out, DType::F32, "layernorm");
  require_same_shape(x, out, "layernorm");
  check_vector(weight, x, "layernorm");
  check_vector(bias, x, "layernorm");
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);
  const Pipeline& pipe = d.pipelines().get(kLayerNorm, reduce_variant(d, "layernorm"), {local});
  const Binding bw = bind(weight), bb = bind(bias);
  for (auto [r0, n] : split_rows(x.rows, {&x, &out})) {
    Binding bx = bind_rows(x, r0, n), bo = bind_rows(out, r0, n);
    struct {
      uint32_t rows, cols, x_off, x_stride, w_off, b_off, o_off, o_stride;
      float eps;
    } push{u32(n), u32(x.cols), bx.elem_offset, u32(x.row_stride), bw.elem_offset, bb.elem_offset,
           bo.elem_offset, u32(out.row_stride), eps};
    g.dispatch(pipe, {bx, bw, bb, bo}, push, groups_for(uint64_t(n) * local, local, d.caps()));
  }
}

}  // namespace vkllm::ops
