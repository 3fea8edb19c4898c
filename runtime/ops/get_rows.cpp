// Embedding row gather (get_rows.comp). A table split into chunks gets one dispatch per
// chunk; each writes the rows whose ids fall in its chunk.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kGetRows{"get_rows", {Access::Read, Access::Read, Access::Write}, 9 * 4};
constexpr uint32_t kLocal = 256;
}  // namespace

void get_rows(Graph& g, const Tensor& table, const Tensor& ids, const Tensor& out) {
  require_dtype(ids, DType::I32, "get_rows");
  require_dtype(out, DType::F32, "get_rows");
  require(ids.rows == 1 && out.rows == ids.cols && out.cols == table.cols,
          "get_rows: " + ids.describe() + " and " + out.describe() + " do not fit table " + table.describe());
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(kGetRows, weight_variant(d, "get_rows", table.dtype, "get_rows"), {kLocal});
  const Binding bi = bind(ids);
  const Binding bo = bind(out);
  require(out.storage->chunks().size() == 1, "get_rows: output " + out.describe() + " must fit one buffer range");
  for (auto [r0, n] : split_rows(table.rows, {&table})) {
    Binding bt = bind_rows(table, r0, n);
    struct {
      uint32_t n_ids, cols, t_off, t_stride, t_row0, t_rows, id_off, o_off, o_stride;
    } push{u32(ids.cols), u32(table.cols), bt.elem_offset, u32(table.row_stride), u32(r0), u32(n),
           bi.elem_offset, bo.elem_offset, u32(out.row_stride)};
    g.dispatch(pipe, {bt, bi, bo}, push, groups_for(uint64_t(ids.cols) * table.cols, kLocal, d.caps()));
  }
}

}  // namespace vkllm::ops
