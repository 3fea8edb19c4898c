// Row copies and gathers (copy_rows.comp, quantize_rows.comp): KV-cache append, select, fork,
// and the conversions to and from block rows that appending and repositioning need.
#include "runtime/ops.h"
#include "runtime/ops/op_util.h"
#include "runtime/pipeline.h"

namespace vkllm::ops {

namespace {
const OpDecl kCopyRows{"copy_rows", {Access::Read, Access::Write, Access::Read}, 11 * 4};
constexpr uint32_t kLocal = 256;

// The pipeline that converts src rows to dst rows.
std::string variant(const Device& d, DType src, DType dst) {
  if (src == DType::F32 && dst == DType::F32) return "copy_rows_f32_f32";
  if (src == dst && dtype_size(src) == 4) return "copy_rows_i32_i32";  // I32 and block rows: words
  if (src == DType::F32 && block_rows(dst)) return std::string("quantize_rows_") + dtype_name(dst);
  if (block_rows(src) && dst == DType::F32) return std::string("copy_rows_") + dtype_name(src) + "_f32";
  require(d.caps().f16_storage, "copy_rows: f16 rows need 16-bit storage buffers");
  if (src == DType::F32 && dst == DType::F16) return "copy_rows_f32_f16";
  if (src == DType::F16 && dst == DType::F16) return "copy_rows_f16_f16";
  if (src == DType::F16 && dst == DType::F32) return "copy_rows_f16_f32";
  throw Error(std::string("copy_rows: no ") + dtype_name(src) + " -> " + dtype_name(dst) + " conversion");
}

// Records copies of n rows into dst starting at dst_row0 (static) or the step value it names.
void record(Graph& g, const Tensor& src, const Tensor* indices, int64_t n, const Tensor& dst, uint32_t dst_row0) {
  // Between block rows and f32 the shaders count values; the block side's cols count words.
  const bool convert_blocks = block_rows(src.dtype) != block_rows(dst.dtype);
  const int64_t values = block_rows(src.dtype) ? dst.cols : src.cols;
  require(convert_blocks ? row_units(block_rows(src.dtype) ? src.dtype : dst.dtype, values) ==
                               (block_rows(src.dtype) ? src.cols : dst.cols)
                         : src.cols == dst.cols,
          "copy_rows: " + src.describe() + " and " + dst.describe() + " differ in width");
  Device& d = g.device();
  const Pipeline& pipe = d.pipelines().get(kCopyRows, variant(d, src.dtype, dst.dtype), {kLocal});
  // quantize_rows takes a pair of blocks per invocation; the others an element.
  const uint64_t per_row = block_rows(dst.dtype) && convert_blocks ? uint64_t(values / 32 + 1) / 2 : uint64_t(values);
  auto emit = [&](const Binding& bs, const Binding& bd, const Binding& bi, int64_t rows, int64_t src_row0,
                  int64_t src_rows, uint32_t dst_row, bool gather) {
    struct {
      uint32_t n_rows, cols, src_off, src_stride, src_row0, src_rows, dst_off, dst_stride, dst_row0, idx_off, use_indices;
    } push{u32(rows), u32(values), bs.elem_offset, u32(src.row_stride), u32(src_row0), u32(src_rows),
           bd.elem_offset, u32(dst.row_stride), dst_row, gather ? bi.elem_offset : 0u, gather ? 1u : 0u};
    g.dispatch(pipe, {bs, bd, bi}, push, groups_for(uint64_t(rows) * per_row, kLocal, d.caps()));
  };

  if (dst_row0 & 0x80000000u) {
    // The destination row is a step value, known only when the graph runs: both tensors must
    // then be single descriptors (the new K/V of a decode step and one layer's cache).
    require(!indices && src.storage->chunks().size() == 1 && dst.storage->chunks().size() == 1,
            "copy_rows: " + dst.describe() + " or " + src.describe() +
                " spans several buffer ranges; the destination row must then be static");
    const Binding bs = bind(src);
    emit(bs, bind(dst), bs, n, 0, n, dst_row0, false);
    return;
  }
  require(int64_t(dst_row0) + n <= dst.rows, "copy_rows: rows past the end of " + dst.describe());
  const Tensor target = dst.slice_rows(dst_row0, n);
  for (auto [d0, dn] : split_rows(n, {&target})) {
    const Binding bd = bind_rows(target, d0, dn);
    if (indices) {  // every source chunk writes the gathered rows that fall inside it
      const Binding bi = bind(indices->slice_cols(d0, dn));
      for (auto [s0, sn] : split_rows(src.rows, {&src})) emit(bind_rows(src, s0, sn), bd, bi, dn, s0, sn, 0, true);
    } else {
      const Tensor part = src.slice_rows(d0, dn);
      for (auto [s0, sn] : split_rows(dn, {&part})) {
        const Binding bs = bind_rows(part, s0, sn);  // also stands in for the unread index buffer
        emit(bs, bd, bs, sn, 0, sn, u32(s0), false);
      }
    }
  }
}
}  // namespace

void copy_rows(Graph& g, const Tensor& src, const Tensor& dst, uint32_t dst_row0) {
  record(g, src, nullptr, src.rows, dst, dst_row0);
}

void gather_rows(Graph& g, const Tensor& src, const Tensor& indices, const Tensor& dst) {
  require_dtype(indices, DType::I32, "gather_rows");
  require(indices.rows == 1 && indices.cols == dst.rows,
          "gather_rows: " + indices.describe() + " must hold one index per row of " + dst.describe());
  record(g, src, &indices, dst.rows, dst, 0);
}

}  // namespace vkllm::ops
