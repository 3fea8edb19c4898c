#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for weights in a GGUF block format (runtime/weight.h),
// read as stored (blocks.glsl). Invocations stride over sub-blocks of 32 weights; with
// w = a q + b per half, a sub-block's share of a dot product is a dot(q, x) + b sum(x). ROWS
// outputs for VECS vectors per workgroup: each sub-block's x is read once for all rows, its
// weights once for all vectors. Every read is 16 bytes (fetch.glsl). f32 accumulation.
// INT_DOT: x comes as 8-bit blocks (quantize_q8.comp) and each half's dot(q, x) is four
// integer dot products of packed bytes.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 8;
layout(constant_id = 2) const uint VECS = 1;
#include "reduce.glsl"
#include "blocks.glsl"
#ifdef INT_DOT
#extension GL_EXT_spirv_intrinsics : require
// OpSDot of SPV_KHR_integer_dot_product on 4x8-bit packed operands (format 0); glslang of
// Debian 12 has no GL_EXT_integer_dot_product.
spirv_instruction(extensions = ["SPV_KHR_integer_dot_product"], capabilities = [6018, 6019], id = 4450)
int sdot_packed(int a, int b, spirv_literal int format);
#endif

DECLARE_FETCH(2, xs)
layout(push_constant) uniform Push {
  uint m, n, k, q_off, q_stride, s_off, s_stride, x_off, x_stride, y_off, y_stride, b_off;
} p;  // q_*: in 32-bit words; s_*: in f16 elements; x_*: in floats (INT_DOT: in 32-bit words); y_*, b_off: in floats
#define Y_BINDING 3
#include "epilogue.glsl"

// Rows [row0, row0 + ROWS) for vectors [v0, v0 + VECS).
void row_group(uint row0, uint v0) {
  uint qb[ROWS], sb[ROWS], xb[VECS];  // 16-byte units for blocks and x, f16 elements for scales
  float acc[ROWS * VECS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = min(row0 + r, p.m - 1u);  // rows and vectors past the end are computed, then dropped
    qb[r] = (p.q_off + row * p.q_stride) / 4u;
    sb[r] = p.s_off + row * p.s_stride;
  }
  [[unroll]] for (uint j = 0u; j < VECS; ++j) xb[j] = (p.x_off + min(v0 + j, p.n - 1u) * p.x_stride) / 4u;
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = 0.0;

  for (uint b = gl_LocalInvocationID.x; b < p.k / 32u; b += gl_WorkGroupSize.x) {
#ifdef INT_DOT
    // x as quantize_q8.comp wrote it: 8 words of int8 quants, then (d, d sum lo, d sum hi).
    uint xw[VECS][8];
    vec3 xs_[VECS];
    [[unroll]] for (uint j = 0u; j < VECS; ++j) {
      const uvec4 u0 = FETCH(xs, xb[j] + 3u * b), u1 = FETCH(xs, xb[j] + 3u * b + 1u);
      [[unroll]] for (uint c = 0u; c < 4u; ++c) xw[j][c] = u0[c], xw[j][c + 4u] = u1[c];
      xs_[j] = uintBitsToFloat(FETCH(xs, xb[j] + 3u * b + 2u).xyz);
    }
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      const PackedSubBlock s = decode_packed(qb[r], sb[r], b);
      [[unroll]] for (uint j = 0u; j < VECS; ++j) {
        int lo = 0, hi = 0;
        [[unroll]] for (uint c = 0u; c < 4u; ++c) {
          lo += sdot_packed(int(s.q[c]), int(xw[j][c]), 0);
          hi += sdot_packed(int(s.q[c + 4u]), int(xw[j][c + 4u]), 0);
        }
        acc[r * VECS + j] += xs_[j].x * dot(s.a, vec2(lo, hi)) + dot(s.b, xs_[j].yz);
      }
    }
#else
    vec4 xv[VECS][8];
    vec2 xsum[VECS];
    [[unroll]] for (uint j = 0u; j < VECS; ++j) {
      [[unroll]] for (uint c = 0u; c < 8u; ++c) xv[j][c] = uintBitsToFloat(FETCH(xs, xb[j] + 8u * b + c));
      xsum[j] = vec2(dot(xv[j][0] + xv[j][1] + xv[j][2] + xv[j][3], vec4(1.0)),
                     dot(xv[j][4] + xv[j][5] + xv[j][6] + xv[j][7], vec4(1.0)));
    }
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      const SubBlock s = decode(qb[r], sb[r], b);
      [[unroll]] for (uint j = 0u; j < VECS; ++j) {
        const float lo = dot(s.q[0], xv[j][0]) + dot(s.q[1], xv[j][1]) + dot(s.q[2], xv[j][2]) + dot(s.q[3], xv[j][3]);
        const float hi = dot(s.q[4], xv[j][4]) + dot(s.q[5], xv[j][5]) + dot(s.q[6], xv[j][6]) + dot(s.q[7], xv[j][7]);
        acc[r * VECS + j] += dot(s.a, vec2(lo, hi)) + dot(s.b, xsum[j]);
      }
    }
#endif
  }
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = wg_sum(acc[i]);
  if (gl_LocalInvocationID.x == 0u) {
    [[unroll]] for (uint j = 0u; j < VECS; ++j) {
      if (v0 + j >= p.n) continue;
      [[unroll]] for (uint r = 0u; r < ROWS; ++r)
        if (row0 + r < p.m) store_y(p.y_off + (v0 + j) * p.y_stride + row0 + r, row0 + r, acc[r * VECS + j]);
    }
  }
}

void main() {
  // A group of ROWS rows per workgroup, or fewer workgroups each taking every n-th group
  // (runtime matvec_groups): on CPU devices each workgroup costs a fixed setup.
  const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y;
  for (uint g = linear_workgroup(); g * ROWS < p.m; g += stride) row_group(g * ROWS, gl_WorkGroupID.z * VECS);
}
