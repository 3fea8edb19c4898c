#version 450
// dst[dst_row0 + i] = src[indices ? indices[i] : i] for i < n_rows, converting f32 -> f16 when
// the destination is f16, f16 -> f32, and block rows (SRC_Q8_0, SRC_Q4_0; cols counts values) to f32
// (f16 -> f16, f32 -> f32 and i32 -> i32, which also copies block rows, are bit-exact). The source may be one chunk
// of a larger tensor holding rows [src_row0, src_row0 + src_rows); gathered rows outside it are
// left to the other chunks' dispatches. dst_row0 may be a step value (decode appends).
#include "common.glsl"

#if defined(SRC_F16) || defined(DST_F16)
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#if defined(ROWS_I32)
#define SRC int
#define DST int
#elif defined(SRC_Q8_0) || defined(SRC_Q4_0)
#define SRC uint
#define DST float
#include "kv_blocks.glsl"
#define ROW_VALUES p.cols
#else
#ifdef SRC_F16
#define SRC float16_t
#else
#define SRC float
#endif
#ifdef DST_F16
#define DST float16_t
#else
#define DST float
#endif
#endif
layout(set = 0, binding = 0) readonly buffer S { SRC src[]; };
layout(set = 0, binding = 1) writeonly buffer D { DST dst[]; };
layout(set = 0, binding = 2) readonly buffer I { int indices[]; };
layout(push_constant) uniform Push {
  uint n_rows, cols, src_off, src_stride, src_row0, src_rows, dst_off, dst_stride, dst_row0, idx_off, use_indices;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.n_rows * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  const uint s = p.use_indices != 0u ? uint(indices[p.idx_off + r]) : r;
  if (s < p.src_row0 || s - p.src_row0 >= p.src_rows) return;
  const uint from = p.src_off + (s - p.src_row0) * p.src_stride;
  // One expression from load to store: an f16 local would need 16-bit arithmetic.
#if defined(SRC_Q8_0)
#define VALUE Q8_0_LOAD(src, from, c)
#elif defined(SRC_Q4_0)
#define VALUE Q4_0_LOAD(src, from, c)
#else
#define VALUE src[from + c]
#endif
  dst[p.dst_off + (param(p.dst_row0) + r) * p.dst_stride + c] = DST(VALUE);
}
