// RoPE (rope.comp) at per-token positions, and re-rotation by a delta for cache reposition.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"
#include "runtime/rope.h"

namespace vkllm::ops {

namespace {
const OpDecl kRope{"rope", {Access::Read, Access::Write, Access::Read, Access::Read}, 15 * 4};
constexpr uint32_t kLocal = 256;

std::string data_variant(const Device& d, DType t) {
  if (t == DType::F32) return "rope_f32";
  require(t == DType::F16 && d.caps().f16_storage, std::string("rope: ") + dtype_name(t) +
                                                       " data needs 16-bit storage buffers (f16 caches fall back to f32)");
  return "rope_f16";
}

void record(Graph& g, const Tensor& x, const Tensor& out, int n_heads, const RopeTable& table, const Tensor* positions) {
  const RopeConfig& c = table.config;
  c.validate();
  require(x.dtype == out.dtype, "rope: " + x.describe() + " and " + out.describe() + " differ in type");
  require_same_shape(x, out, "rope");
  require(n_heads > 0 && x.cols == int64_t(n_heads) * c.head_dim,
          "rope: " + x.describe() + " is not " + std::to_string(n_heads) + " heads of " + std::to_string(c.head_dim));
  if (positions) {
    require(table.coarse_rows > 0, "rope: the table must come from RopeTable::build (a delta table is for rope_shift)");
    require_dtype(*positions, DType::I32, "rope");
    require(positions->rows == c.streams() && positions->cols == x.rows,
            "rope: positions " + positions->describe() + " must be " + std::to_string(c.streams()) + " x " +
                std::to_string(x.rows) + " (one row per position stream)");
  } else {
    require(table.coarse_rows == 0 && table.count == c.streams(), "rope_shift: the table must come from RopeTable::delta");
  }
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(kRope, data_variant(d, x.dtype), {kLocal, uint32_t(c.pairing)});
  const Binding bt = bind(table.cos_sin);
  for (auto [r0, n] : split_rows(x.rows, {&x, &out})) {
    Binding bx = bind_rows(x, r0, n), bo = bind_rows(out, r0, n);
    // Without positions the shader never reads binding 2; the table stands in as a valid buffer.
    Binding bp = positions ? bind(positions->slice_cols(r0, n)) : bt;
    struct {
      uint32_t n_tokens, n_heads, head_dim, pairs, x_off, x_stride, o_off, o_stride;
      uint32_t pos_off, block_pos_off, table_off, table_pairs, fine_row0;
      int32_t table_first;
      uint32_t use_positions;
    } push{u32(n), u32(n_heads), u32(c.head_dim), u32(c.pairs()), bx.elem_offset, u32(x.row_stride), bo.elem_offset,
           u32(out.row_stride), bp.elem_offset, positions ? bp.elem_offset + u32(positions->row_stride) : 0u,
           bt.elem_offset, u32(c.pairs()), u32(table.coarse_rows), table.first, positions ? 1u : 0u};
    g.dispatch(pipe, {bx, bo, bp, bt}, push, groups_for(uint64_t(n) * n_heads * (c.head_dim / 2), kLocal, d.caps()));
  }
}
}  // namespace

void rope(Graph& g, const Tensor& x, const Tensor& out, int n_heads, const RopeTable& table, const Tensor& positions) {
  record(g, x, out, n_heads, table, &positions);
}

void rope_shift(Graph& g, const Tensor& x, const Tensor& out, int n_heads, const RopeTable& delta) {
  record(g, x, out, n_heads, delta, nullptr);
}

}  // namespace vkllm::ops
