// Matrix-vector (matvec.comp) and tiled matrix-matrix (matmul.comp) products.
// Weights split into chunks give one dispatch per (weight rows, vectors) piece; each writes
// its own columns of y.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kMatvec{"matvec", {Access::Read, Access::Read, Access::Write}, 9 * 4};
const OpDecl kMatvecTexels{"matvec", {Access::ReadTexels, Access::ReadTexels, Access::Write}, 9 * 4};
const OpDecl kMatmul{"matmul", {Access::Read, Access::Read, Access::Write}, 9 * 4};
const OpDecl kMatvecBlocks{"matvec_blocks", {Access::Read, Access::Read, Access::Read, Access::Write}, 11 * 4};
const OpDecl kMatmulBlocks{"matmul_blocks", {Access::Read, Access::Read, Access::Read, Access::Write}, 11 * 4};
const OpDecl kMatmulBlocksTexels{"matmul_blocks", {Access::ReadTexels, Access::ReadTexels, Access::ReadTexels, Access::Write}, 11 * 4};
const OpDecl kMatvecBlocksTexels{"matvec_blocks", {Access::ReadTexels, Access::ReadTexels, Access::ReadTexels, Access::Write}, 11 * 4};
constexpr uint32_t kMatvecRows = 8;  // outputs per workgroup, sharing each load of x
constexpr int64_t kMatvecMaxVectors = 8;  // beyond this the tiled kernel reads weights less often

// Vectors per matvec workgroup: each weight load serves this many vectors.
uint32_t matvec_vectors(int64_t n) { return n <= 1 ? 1 : n == 2 ? 2 : n <= 4 ? 4 : 8; }

// Matvec grid (both weight formats): kMatvecRows outputs per workgroup in x/y, vector groups in z.
Groups matvec_groups(int64_t m, int64_t n, uint32_t vecs, const Capabilities& caps) {
  Groups groups = groups_for((uint64_t(m) + kMatvecRows - 1) / kMatvecRows, 1, caps);
  groups.z = u32((n + vecs - 1) / vecs);
  return groups;
}

void check(const Tensor& w, const Tensor& x, const Tensor& y) {
  require_dtype(x, DType::F32, "matmul");
  require_dtype(y, DType::F32, "matmul");
  require(x.cols == w.cols && y.rows == x.rows && y.cols == w.rows,
          "matmul: shapes do not fit: w " + w.describe() + ", x " + x.describe() + ", y " + y.describe());
}

// Dispatches `pipe` once per piece whose weight rows and vectors each lie in a single chunk;
// both kernels share the push layout. grid(weight rows, vectors) gives the workgroups.
template <class Grid>
void record_pieces(Graph& g, const Pipeline& pipe, const Tensor& w, const Tensor& x, const Tensor& y, Grid grid) {
  for (auto ws : split_rows(w.rows, {&w}))
    for (auto ns : split_rows(x.rows, {&x, &y})) {
      Binding bw = bind_rows(w, ws.first, ws.count), bx = bind_rows(x, ns.first, ns.count);
      Binding by = bind_rows(y.slice_cols(ws.first, ws.count), ns.first, ns.count);
      struct {
        uint32_t m, n, k, w_off, w_stride, x_off, x_stride, y_off, y_stride;
      } push{u32(ws.count), u32(ns.count), u32(w.cols), bw.elem_offset, u32(w.row_stride), bx.elem_offset,
             u32(x.row_stride), by.elem_offset, u32(y.row_stride)};
      g.dispatch(pipe, {bw, bx, by}, push, grid(ws.count, ns.count));
    }
}
}  // namespace

void matvec_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y) {
  check(w, x, y);
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);  // 4x faster than 32 or 64 on lavapipe
  const uint32_t vecs = matvec_vectors(x.rows);
  if (w.dtype != DType::F32 && w.dtype != DType::F16)
    throw Error(std::string("matmul: weights of type ") + dtype_name(w.dtype) + " are not supported");
  const std::string base = std::string("matvec_") + (w.dtype == DType::F32 ? "f32" : "f16");
  const Pipeline& pipe = d.pipelines().get(d.caps().texel_reads ? kMatvecTexels : kMatvec,
                                           reduce_variant(d, fetch_variant(d, base.c_str()).c_str()), {local, kMatvecRows, vecs});
  record_pieces(g, pipe, w, x, y, [&](int64_t m, int64_t n) { return matvec_groups(m, n, vecs, d.caps()); });
}

void matmul_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y) {
  check(w, x, y);
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(kMatmul, weight_variant(d, "matmul", w.dtype, "matmul"), {64});
  record_pieces(g, pipe, w, x, y, [](int64_t m, int64_t n) { return Groups{u32((m + 31) / 32), u32((n + 31) / 32), 1}; });
}

void matmul(Graph& g, const Weight& w, const Tensor& x, const Tensor& y, int64_t batch_rows) {
  if (!w.quantized()) return matmul(g, w.values, x, y, batch_rows);
  const std::string format = weight_format_name(w.format);
  require_dtype(x, DType::F32, "matmul");
  require_dtype(y, DType::F32, "matmul");
  require(x.cols == w.cols() && y.rows == x.rows && y.cols == w.rows(),
          "matmul: shapes do not fit: " + format + " w [" + std::to_string(w.rows()) + " x " + std::to_string(w.cols()) +
              "], x " + x.describe() + ", y " + y.describe());
  require(((x.offset | x.row_stride) & 3) == 0, "matmul: " + format + " needs x rows starting at multiples of 4 floats");
  Device& d = g.device();
  // As for plain weights: the matrix-vector kernel (each block decoded once per group of up to
  // kMatvecMaxVectors vectors) for few vectors and where barriers are expensive, else tiles.
  const bool tiled = (batch_rows > 0 ? batch_rows : x.rows) > kMatvecMaxVectors && !d.caps().workgroup_barriers_expensive;
  const uint32_t local = subgroup_local_size(d), vecs = matvec_vectors(x.rows);
  const bool texels = d.caps().texel_reads;
  const Pipeline& pipe =
      tiled ? d.pipelines().get(texels ? kMatmulBlocksTexels : kMatmulBlocks, block_variant(d, "matmul", w.format), {64})
            : d.pipelines().get(texels ? kMatvecBlocksTexels : kMatvecBlocks,
                                reduce_variant(d, block_variant(d, "matvec", w.format).c_str()), {local, kMatvecRows, vecs});
  const Tensor& scales = w.scales.storage ? w.scales : w.values;  // unread where the format has none
  for (auto ws : split_rows(w.rows(), {&w.values, &scales}))
    for (auto ns : split_rows(x.rows, {&x, &y})) {
      Binding bq = bind_rows(w.values, ws.first, ws.count), bs = bind_rows(scales, ws.first, ws.count);
      Binding bx = bind_rows(x, ns.first, ns.count), by = bind_rows(y.slice_cols(ws.first, ws.count), ns.first, ns.count);
      struct {
        uint32_t m, n, k, q_off, q_stride, s_off, s_stride, x_off, x_stride, y_off, y_stride;
      } push{u32(ws.count), u32(ns.count), u32(w.cols()), bq.elem_offset, u32(w.values.row_stride), bs.elem_offset,
             u32(scales.row_stride), bx.elem_offset, u32(x.row_stride), by.elem_offset, u32(y.row_stride)};
      require((bx.elem_offset & 3) == 0 && (bq.elem_offset & 3) == 0,
              "matmul: " + format + " needs x rows and weight rows on 16-byte boundaries");
      g.dispatch(pipe, {bq, bs, bx, by}, push,
                 tiled ? Groups{u32((ws.count + 31) / 32), u32((ns.count + 31) / 32), 1} : matvec_groups(ws.count, ns.count, vecs, d.caps()));
    }
}

void matmul(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, int64_t batch_rows) {
  if ((batch_rows > 0 ? batch_rows : x.rows) <= kMatvecMaxVectors || g.device().caps().workgroup_barriers_expensive)
    matvec_kernel(g, w, x, y);
  else
    matmul_kernel(g, w, x, y);
}

}  // namespace vkllm::ops
