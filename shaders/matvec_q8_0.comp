#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for Q8_0 weights: quants as int8 packed four to a 32-bit
// word (binding 0), one f16 scale per block of 32 (binding 1). ROWS outputs for VECS vectors
// per workgroup; invocations stride over blocks, read each block's x once for all ROWS rows
// and each block's quants once for all VECS vectors. Every read is 16 bytes (fetch.glsl).
// f32 accumulation.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 8;
layout(constant_id = 2) const uint VECS = 1;
#include "reduce.glsl"
#include "fetch.glsl"

DECLARE_FETCH(0, quants)
DECLARE_FETCH(1, scales)
DECLARE_FETCH(2, xs)
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint m, n, k, q_off, q_stride, s_off, s_stride, x_off, x_stride, y_off, y_stride;
} p;  // q_*: in 32-bit words; s_*: in f16 elements; x_*, y_*: in floats

// Four signed bytes of a word, as floats.
vec4 bytes_of(uint w) { return vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24); }

void main() {
  const uint row0 = linear_workgroup() * ROWS, v0 = gl_WorkGroupID.z * VECS;
  if (row0 >= p.m) return;
  uint qb[ROWS], sb[ROWS], xb[VECS];  // 16-byte units for quants and x, f16 elements for scales
  float acc[ROWS * VECS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = min(row0 + r, p.m - 1u);  // rows and vectors past the end are computed, then dropped
    qb[r] = (p.q_off + row * p.q_stride) / 4u;
    sb[r] = p.s_off + row * p.s_stride;
  }
  [[unroll]] for (uint j = 0u; j < VECS; ++j) xb[j] = (p.x_off + min(v0 + j, p.n - 1u) * p.x_stride) / 4u;
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = 0.0;

  for (uint b = gl_LocalInvocationID.x; b < p.k / 32u; b += gl_WorkGroupSize.x) {
    vec4 xv[VECS][8];
    [[unroll]] for (uint j = 0u; j < VECS; ++j)
      [[unroll]] for (uint c = 0u; c < 8u; ++c) xv[j][c] = uintBitsToFloat(FETCH(xs, xb[j] + 8u * b + c));
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      const uvec4 q0 = FETCH(quants, qb[r] + 2u * b), q1 = FETCH(quants, qb[r] + 2u * b + 1u);
      const float d = FETCH_HALF(scales, sb[r] + b);
      const vec4 w[8] = {bytes_of(q0.x), bytes_of(q0.y), bytes_of(q0.z), bytes_of(q0.w),
                         bytes_of(q1.x), bytes_of(q1.y), bytes_of(q1.z), bytes_of(q1.w)};
      [[unroll]] for (uint j = 0u; j < VECS; ++j) {
        float s = 0.0;
        [[unroll]] for (uint c = 0u; c < 8u; ++c) s += dot(w[c], xv[j][c]);
        acc[r * VECS + j] += d * s;
      }
    }
  }
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = wg_sum(acc[i]);
  if (gl_LocalInvocationID.x == 0u) {
    [[unroll]] for (uint j = 0u; j < VECS; ++j) {
      if (v0 + j >= p.n) continue;
      [[unroll]] for (uint r = 0u; r < ROWS; ++r)
        if (row0 + r < p.m) y[p.y_off + (v0 + j) * p.y_stride + row0 + r] = acc[r * VECS + j];
    }
  }
}
