#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for a few vectors v (decode, small batches). Each
// workgroup computes ROWS outputs for VECS vectors: its invocations stride along k with 4-wide
// loads and use each weight load for all VECS vectors, so the weights are read once per VECS
// vectors, coalesced, at any subgroup size. f32 accumulation whatever the weight type.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 8;
layout(constant_id = 2) const uint VECS = 1;
#include "reduce.glsl"
#define W_BINDING 0
#include "weights.glsl"

layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint m, n, k, w_off, w_stride, x_off, x_stride, y_off, y_stride;
} p;

void main() {
  const uint row0 = linear_workgroup() * ROWS, v0 = gl_WorkGroupID.z * VECS;
  if (row0 >= p.m) return;
  // Rows and vectors past the end are clamped: computed, then not written.
  uint wb[ROWS], xb[VECS];
  float acc[ROWS * VECS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) wb[r] = p.w_off + min(row0 + r, p.m - 1u) * p.w_stride;
  [[unroll]] for (uint j = 0u; j < VECS; ++j) xb[j] = p.x_off + min(v0 + j, p.n - 1u) * p.x_stride;
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = 0.0;

  if (((p.k | p.w_off | p.w_stride | p.x_off | p.x_stride) & 3u) == 0u) {
    for (uint k4 = gl_LocalInvocationID.x; k4 < p.k / 4u; k4 += gl_WorkGroupSize.x) {
      vec4 xv[VECS];
      [[unroll]] for (uint j = 0u; j < VECS; ++j) xv[j] = x4[xb[j] / 4u + k4];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        const vec4 wv = load_w4(wb[r] + 4u * k4);
        [[unroll]] for (uint j = 0u; j < VECS; ++j) acc[r * VECS + j] += dot(wv, xv[j]);
      }
    }
  } else {
    for (uint k = gl_LocalInvocationID.x; k < p.k; k += gl_WorkGroupSize.x) {
      float xv[VECS];
      [[unroll]] for (uint j = 0u; j < VECS; ++j) xv[j] = x[xb[j] + k];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        const float wv = load_w(wb[r] + k);
        [[unroll]] for (uint j = 0u; j < VECS; ++j) acc[r * VECS + j] += wv * xv[j];
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
