// Embedding row gather (get_rows.comp). A table split into chunks gets one dispatch per
// chunk; each writes the rows whose ids fall in its chunk.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kGetRows{"get_rows", {Access::Read, Access::Read, Access::Write}, 9 * 4};
const OpDecl kGetRowsBlocks{"get_rows_blocks", {Access::Read, Access::Read, Access::Read, Access::Write}, 11 * 4};
const OpDecl kGetRowsBlocksTexels{"get_rows_blocks", {Access::ReadTexels, Access::ReadTexels, Access::Read, Access::Write}, 11 * 4};
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

void get_rows(Graph& g, const Weight& table, const Tensor& ids, const Tensor& out) {
  if (!table.quantized()) return get_rows(g, table.values, ids, out);
  require_dtype(ids, DType::I32, "get_rows");
  require_dtype(out, DType::F32, "get_rows");
  require(ids.rows == 1 && out.rows == ids.cols && out.cols == table.cols(),
          "get_rows: " + ids.describe() + " and " + out.describe() + " do not fit a " + weight_format_name(table.format) +
              " table [" + std::to_string(table.rows()) + " x " + std::to_string(table.cols()) + "]");
  require(out.storage->chunks().size() == 1, "get_rows: output " + out.describe() + " must fit one buffer range");
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(d.caps().texel_reads ? kGetRowsBlocksTexels : kGetRowsBlocks,
                                           block_variant(d, "get_rows", table.format), {kLocal});
  const Tensor& scales = table.scales.storage ? table.scales : table.values;  // unread where the format has none
  const Binding bi = bind(ids), bo = bind(out);
  for (auto [r0, n] : split_rows(table.rows(), {&table.values, &scales})) {
    const Binding bq = bind_rows(table.values, r0, n), bs = bind_rows(scales, r0, n);
    struct {
      uint32_t n_ids, cols, q_off, q_stride, s_off, s_stride, t_row0, t_rows, id_off, o_off, o_stride;
    } push{u32(ids.cols), u32(table.cols()), bq.elem_offset, u32(table.values.row_stride), bs.elem_offset,
           u32(scales.row_stride), u32(r0), u32(n), bi.elem_offset, bo.elem_offset, u32(out.row_stride)};
    g.dispatch(pipe, {bq, bs, bi, bo}, push, groups_for(uint64_t(ids.cols) * uint64_t(table.cols() / 32), kLocal, d.caps()));
  }
}

}  // namespace vkllm::ops
