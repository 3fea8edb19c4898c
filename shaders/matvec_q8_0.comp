#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for Q8_0 weights: quants as int8 packed four to a 32-bit
// word (binding 0), one f16 scale per 32 values (binding 1). Same workgroup shape as
// matvec.comp: ROWS outputs for VECS vectors; invocations stride over groups of 16 quants
// (one 16-byte load), so each weight byte is read once per VECS vectors. f32 accumulation.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 8;
layout(constant_id = 2) const uint VECS = 1;
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer Quants { uvec4 q16[]; };
layout(set = 0, binding = 1) readonly buffer Scales { uint scale_words[]; };
layout(set = 0, binding = 2) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 3) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint m, n, k, q_off, q_stride, s_off, s_stride, x_off, x_stride, y_off, y_stride;
} p;  // q_*: in 32-bit words; s_*: in f16 elements; x_*, y_*: in floats

float scale_at(uint e) {
  const vec2 h = unpackHalf2x16(scale_words[e >> 1]);
  return (e & 1u) != 0u ? h.y : h.x;
}

// Four signed bytes of a word, as floats.
vec4 bytes_of(uint w) { return vec4(ivec4(w << 24, w << 16, w << 8, w) >> 24); }

void main() {
  const uint row0 = linear_workgroup() * ROWS, v0 = gl_WorkGroupID.z * VECS;
  if (row0 >= p.m) return;
  uint qb[ROWS], sb[ROWS], xb[VECS];
  float acc[ROWS * VECS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    const uint row = min(row0 + r, p.m - 1u);  // rows and vectors past the end are computed, then dropped
    qb[r] = p.q_off + row * p.q_stride;
    sb[r] = p.s_off + row * p.s_stride;
  }
  [[unroll]] for (uint j = 0u; j < VECS; ++j) xb[j] = (p.x_off + min(v0 + j, p.n - 1u) * p.x_stride) / 4u;
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = 0.0;

  for (uint g = gl_LocalInvocationID.x; g < p.k / 16u; g += gl_WorkGroupSize.x) {
    vec4 xv[VECS][4];
    [[unroll]] for (uint j = 0u; j < VECS; ++j)
      [[unroll]] for (uint c = 0u; c < 4u; ++c) xv[j][c] = x4[xb[j] + 4u * g + c];
    [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
      const uvec4 w = q16[qb[r] / 4u + g];
      const vec4 w0 = bytes_of(w.x), w1 = bytes_of(w.y), w2 = bytes_of(w.z), w3 = bytes_of(w.w);
      const float d = scale_at(sb[r] + g / 2u);
      [[unroll]] for (uint j = 0u; j < VECS; ++j)
        acc[r * VECS + j] += d * (dot(w0, xv[j][0]) + dot(w1, xv[j][1]) + dot(w2, xv[j][2]) + dot(w3, xv[j][3]));
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
