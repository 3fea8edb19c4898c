// Row softmax (softmax.comp): one workgroup per row.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kSoftmax{"softmax", {Access::Read, Access::Write}, 7 * 4};
}

void softmax(Graph& g, const Tensor& x, const Tensor& out, uint32_t n_valid) {
  require_dtype(x, DType::F32, "softmax");
  require_dtype(out, DType::F32, "softmax");
  require_same_shape(x, out, "softmax");
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);
  const Pipeline& pipe = d.pipelines().get(kSoftmax, reduce_variant(d, "softmax"), {local});
  for (auto [r0, n] : split_rows(x.rows, {&x, &out})) {
    Binding bx = bind_rows(x, r0, n), bo = bind_rows(out, r0, n);
    struct {
      uint32_t rows, cols, x_off, x_stride, o_off, o_stride, n_valid;
    } push{u32(n), u32(x.cols), bx.elem_offset, u32(x.row_stride), bo.elem_offset, u32(out.row_stride), n_valid};
    g.dispatch(pipe, {bx, bo}, push, groups_for(uint64_t(n) * local, local, d.caps()));
  }
}

}  // namespace vkllm::ops
