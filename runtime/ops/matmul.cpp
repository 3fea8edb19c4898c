// Matrix-vector (matvec.comp, matvec_blocks.comp) and tiled matrix-matrix (matmul.comp,
// matmul_blocks.comp) products, each storing through epilogue.glsl. Weights split into
// chunks give one dispatch per (weight rows, vectors) piece; each writes its own columns of y.
#include <algorithm>
#include <array>

#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
enum Kernel { kMatvecPlain, kMatmulPlain, kMatvecBlocks, kMatmulBlocks };
const OpDecl kQuantizeQ8{"quantize_q8", {Access::Read, Access::Write}, 6 * 4};
constexpr uint32_t kMatvecRows = 8;  // outputs per workgroup, sharing each load of x
constexpr int64_t kMatvecMaxVectors = 8;  // beyond this the tiled kernel reads weights less often

// A product kernel's bindings: the weight's (values, and scales for block formats) and x, read
// as texels where the device prefers them (the plain tiled kernel reads storage buffers); y,
// written or, accumulating, read and written; the bias.
const OpDecl& product_decl(Kernel kernel, bool texels, bool accumulate) {
  static const auto table = [] {
    std::array<OpDecl, 16> t{};
    const char* names[] = {"matvec", "matmul", "matvec_blocks", "matmul_blocks"};
    for (int k = 0; k < 4; ++k)
      for (int tx = 0; tx < 2; ++tx)
        for (int acc = 0; acc < 2; ++acc) {
          const Access in = tx && k != kMatmulPlain ? Access::ReadTexels : Access::Read;
          std::vector<Access> b(k >= kMatvecBlocks ? 3 : 2, in);
          b.push_back(acc ? Access::ReadWrite : Access::Write);
          b.push_back(Access::Read);
          t[size_t(k * 4 + tx * 2 + acc)] = OpDecl{names[k], b, uint32_t(k >= kMatvecBlocks ? 12 : 10) * 4};
        }
    return t;
  }();
  return table[size_t(kernel * 4 + (texels ? 2 : 0) + (accumulate ? 1 : 0))];
}

// Spec constant 3 of the product kernels (epilogue.glsl).
uint32_t epilogue_bits(const Epilogue& e) { return (e.bias.storage ? 1u : 0u) | (e.accumulate ? 2u : 0u); }

// Vectors per matvec workgroup: each weight load serves this many vectors.
uint32_t matvec_vectors(int64_t n) { return n <= 1 ? 1 : n == 2 ? 2 : n <= 4 ? 4 : 8; }

// Matvec grid (both weight formats): groups of kMatvecRows outputs in x/y, at most one per
// concurrent workgroup on CPU devices with barrier-free reductions (the kernels loop over the
// rest); vector groups in z.
Groups matvec_groups(int64_t m, int64_t n, uint32_t vecs, const Capabilities& caps) {
  uint64_t row_groups = (uint64_t(m) + kMatvecRows - 1) / kMatvecRows;
  // Only barrier-free reductions (_sg1) loop: the others' barriers per row group would pile up
  // past lavapipe's budget per workgroup (max_workgroup_barriers) on a large vocabulary.
  if (caps.concurrent_workgroups && caps.one_subgroup_workgroups)
    row_groups = std::min<uint64_t>(row_groups, caps.concurrent_workgroups);
  Groups groups = groups_for(row_groups, 1, caps);
  groups.z = u32((n + vecs - 1) / vecs);
  return groups;
}

Groups tile_groups(int64_t m, int64_t n) { return Groups{u32((m + 31) / 32), u32((n + 31) / 32), 1}; }

// x as 8-bit blocks for the integer dot-product kernels (quantize_q8.comp): I32 [rows, 12
// words per block of 32]. A temporary the graph keeps alive.
Tensor quantize_q8(Graph& g, const Tensor& x) {
  Device& d = g.device();
  const int64_t blocks = x.cols / 32;
  Tensor xq = d.tensor(DType::I32, x.rows, 12 * blocks, "x as 8-bit blocks");
  const Pipeline& pipe = d.pipelines().get(kQuantizeQ8, "quantize_q8", {64});
  for (auto ns : split_rows(x.rows, {&x, &xq})) {
    const Binding bx = bind_rows(x, ns.first, ns.count), bq = bind_rows(xq, ns.first, ns.count);
    struct {
      uint32_t n, blocks, x_off, x_stride, q_off, q_stride;
    } push{u32(ns.count), u32(blocks), bx.elem_offset, u32(x.row_stride), bq.elem_offset / 4, u32(xq.row_stride / 4)};
    g.dispatch(pipe, {bx, bq}, push, groups_for(uint64_t(ns.count) * blocks, 64, d.caps()));
  }
  return xq;
}

bool takes_tiles(const Device& d, const Tensor& x, int64_t batch_rows) {
  return (batch_rows > 0 ? batch_rows : x.rows) > kMatvecMaxVectors && !d.caps().workgroup_barriers_expensive;
}

void check(const std::string& what, int64_t w_rows, int64_t w_cols, const Tensor& x, const Tensor& y, const Epilogue& e) {
  require_dtype(x, DType::F32, "matmul");
  require_dtype(y, DType::F32, "matmul");
  require(x.cols == w_cols && y.rows == x.rows && y.cols == w_rows,
          "matmul: shapes do not fit: " + what + " [" + std::to_string(w_rows) + " x " + std::to_string(w_cols) + "], x " +
              x.describe() + ", y " + y.describe());
  if (e.bias.storage) {
    require_dtype(e.bias, DType::F32, "matmul bias");
    require(e.bias.rows == 1 && e.bias.cols == w_rows, "matmul: bias " + e.bias.describe() + " must be one row of " + std::to_string(w_rows));
  }
}

// Dispatches `pipe` once per piece whose weight rows and vectors each lie in a single chunk.
// The push block is the kernel's: m, n, k, then the weight's offsets and strides (`weight`
// tensors, each contributing offset, row stride), x's, y's, and the bias offset.
template <class Grid>
void record_pieces(Graph& g, const Pipeline& pipe, std::initializer_list<const Tensor*> weight, int64_t k, const Tensor& x,
                   const Tensor& y, const Epilogue& e, Grid grid) {
  const int64_t m = (*weight.begin())->rows;
  for (auto ws : split_rows(m, weight))
    for (auto ns : split_rows(x.rows, {&x, &y})) {
      std::vector<Binding> bindings;
      std::vector<uint32_t> push{u32(ws.count), u32(ns.count), u32(k)};
      for (const Tensor* t : weight) {
        bindings.push_back(bind_rows(*t, ws.first, ws.count));
        push.insert(push.end(), {bindings.back().elem_offset, u32(t->row_stride)});
      }
      const Binding bx = bind_rows(x, ns.first, ns.count), by = bind_rows(y.slice_cols(ws.first, ws.count), ns.first, ns.count);
      const Binding bb = e.bias.storage ? bind(e.bias.slice_cols(ws.first, ws.count)) : bx;
      bindings.insert(bindings.end(), {bx, by, bb});
      push.insert(push.end(), {bx.elem_offset, u32(x.row_stride), by.elem_offset, u32(y.row_stride), bb.elem_offset});
      g.dispatch(pipe, bindings, push.data(), uint32_t(push.size() * 4), grid(ws.count, ns.count));
    }
}
}  // namespace

void matvec_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, const Epilogue& e) {
  check(std::string("w ") + dtype_name(w.dtype), w.rows, w.cols, x, y, e);
  Device& d = g.device();
  const uint32_t local = subgroup_local_size(d);  // 4x faster than 32 or 64 on lavapipe
  const uint32_t vecs = matvec_vectors(x.rows);
  if (w.dtype != DType::F32 && w.dtype != DType::F16)
    throw Error(std::string("matmul: weights of type ") + dtype_name(w.dtype) + " are not supported");
  const std::string base = std::string("matvec_") + (w.dtype == DType::F32 ? "f32" : "f16");
  const Pipeline& pipe = d.pipelines().get(product_decl(kMatvecPlain, d.caps().texel_reads, e.accumulate),
                                           reduce_variant(d, fetch_variant(d, base.c_str()).c_str()),
                                           {local, kMatvecRows, vecs, epilogue_bits(e)});
  record_pieces(g, pipe, {&w}, w.cols, x, y, e, [&](int64_t m, int64_t n) { return matvec_groups(m, n, vecs, d.caps()); });
}

void matmul_kernel(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, const Epilogue& e) {
  check(std::string("w ") + dtype_name(w.dtype), w.rows, w.cols, x, y, e);
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(product_decl(kMatmulPlain, false, e.accumulate),
                                           weight_variant(d, "matmul", w.dtype, "matmul"), {64, 0, 0, epilogue_bits(e)});
  record_pieces(g, pipe, {&w}, w.cols, x, y, e, tile_groups);
}

void matmul(Graph& g, const Weight& w, const Tensor& x, const Tensor& y, int64_t batch_rows, const Epilogue& e) {
  if (!w.quantized()) return matmul(g, w.values, x, y, batch_rows, e);
  const std::string format = weight_format_name(w.format);
  check(format + " w", w.rows(), w.cols(), x, y, e);
  require(((x.offset | x.row_stride) & 3) == 0, "matmul: " + format + " needs x rows starting at multiples of 4 floats");
  Device& d = g.device();
  // As for plain weights: the matrix-vector kernel (each block decoded once per group of up to
  // kMatvecMaxVectors vectors) for few vectors and where barriers are expensive, else tiles.
  const bool tiled = takes_tiles(d, x, batch_rows), int_dot = !tiled && d.caps().integer_dot_product;
  const uint32_t local = subgroup_local_size(d), vecs = matvec_vectors(x.rows);
  const OpDecl& decl = product_decl(tiled ? kMatmulBlocks : kMatvecBlocks, d.caps().texel_reads, e.accumulate);
  const Pipeline& pipe =
      tiled ? d.pipelines().get(decl, block_variant(d, "matmul", w.format), {64, 0, 0, epilogue_bits(e)})
            : d.pipelines().get(decl, reduce_variant(d, block_variant(d, "matvec", w.format, int_dot ? "_dot" : "").c_str()),
                                {local, kMatvecRows, vecs, epilogue_bits(e)});
  const Tensor& scales = w.scales.storage ? w.scales : w.values;  // unread where the format has none
  require(((w.values.offset | w.values.row_stride) & 3) == 0, "matmul: " + format + " needs weight rows on 16-byte boundaries");
  const Tensor input = int_dot ? quantize_q8(g, x) : x;
  record_pieces(g, pipe, {&w.values, &scales}, w.cols(), input, y, e, [&](int64_t m, int64_t n) {
    return tiled ? tile_groups(m, n) : matvec_groups(m, n, vecs, d.caps());
  });
}

void matmul(Graph& g, const Tensor& w, const Tensor& x, const Tensor& y, int64_t batch_rows, const Epilogue& e) {
  if (takes_tiles(g.device(), x, batch_rows))
    matmul_kernel(g, w, x, y, e);
  else
    matvec_kernel(g, w, x, y, e);
}

void matmul(Graph& g, const StackedWeight& w, const Tensor& x, const Tensor& y, int64_t batch_rows, const Epilogue& e) {
  check("stacked w", w.rows(), w.cols(), x, y, e);
  int64_t first = 0;
  for (const Weight& part : w.parts) {
    Epilogue pe{e.bias.storage ? e.bias.slice_cols(first, part.rows()) : Tensor{}, e.accumulate};
    matmul(g, part, x, y.slice_cols(first, part.rows()), batch_rows, pe);
    first += part.rows();
  }
}

}  // namespace vkllm::ops
