#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for a few vectors v (decode, small batches), f32 (W_F32)
// or f16 (W_F16) weights. Each workgroup computes ROWS outputs for VECS vectors: its
// invocations stride along k in 16-byte units (4 f32 or 8 f16 weights, fetch.glsl) and use
// each weight unit for all VECS vectors, so weights are read once per VECS vectors. Rows that
// do not start on a unit take a per-element path. f32 accumulation whatever the weight type.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 8;
layout(constant_id = 2) const uint VECS = 1;
#include "reduce.glsl"
#include "fetch.glsl"

#if defined(W_F32)
const uint PER_UNIT = 4u;  // weights per 16 bytes
void unpack_unit(uvec4 u, out vec4 v[2]) { v[0] = uintBitsToFloat(u); v[1] = vec4(0.0); }
float element_of(uvec4 u, uint e) { return uintBitsToFloat(u[e & 3u]); }
#elif defined(W_F16)
const uint PER_UNIT = 8u;
void unpack_unit(uvec4 u, out vec4 v[2]) {
  v[0] = vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
  v[1] = vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w));
}
float element_of(uvec4 u, uint e) { return half_of(u, e); }
#else
#error "define W_F32 or W_F16"
#endif
const uint VEC4S = PER_UNIT / 4u;  // vec4s per unit

DECLARE_FETCH(0, ws)
DECLARE_FETCH(1, xs)
layout(push_constant) uniform Push {
  uint m, n, k, w_off, w_stride, x_off, x_stride, y_off, y_stride, b_off;
} p;  // in elements
#define Y_BINDING 2
#include "epilogue.glsl"

float w_at(uint e) { return element_of(FETCH(ws, e / PER_UNIT), e); }
float x_at(uint e) { return uintBitsToFloat(FETCH(xs, e >> 2u)[e & 3u]); }

// Rows [row0, row0 + ROWS) for vectors [v0, v0 + VECS).
void row_group(uint row0, uint v0) {
  // Rows and vectors past the end are clamped: computed, then not written.
  uint wb[ROWS], xb[VECS];
  float acc[ROWS * VECS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) wb[r] = p.w_off + min(row0 + r, p.m - 1u) * p.w_stride;
  [[unroll]] for (uint j = 0u; j < VECS; ++j) xb[j] = p.x_off + min(v0 + j, p.n - 1u) * p.x_stride;
  [[unroll]] for (uint i = 0u; i < ROWS * VECS; ++i) acc[i] = 0.0;

  if ((p.k | p.w_off | p.w_stride) % PER_UNIT == 0u && ((p.x_off | p.x_stride) & 3u) == 0u) {
    for (uint t = gl_LocalInvocationID.x; t < p.k / PER_UNIT; t += gl_WorkGroupSize.x) {
      vec4 xv[VECS][VEC4S];
      [[unroll]] for (uint j = 0u; j < VECS; ++j)
        [[unroll]] for (uint c = 0u; c < VEC4S; ++c) xv[j][c] = uintBitsToFloat(FETCH(xs, xb[j] / 4u + VEC4S * t + c));
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        vec4 wv[2];
        unpack_unit(FETCH(ws, wb[r] / PER_UNIT + t), wv);
        [[unroll]] for (uint j = 0u; j < VECS; ++j)
          [[unroll]] for (uint c = 0u; c < VEC4S; ++c) acc[r * VECS + j] += dot(wv[c], xv[j][c]);
      }
    }
  } else {
    for (uint k = gl_LocalInvocationID.x; k < p.k; k += gl_WorkGroupSize.x) {
      float xv[VECS];
      [[unroll]] for (uint j = 0u; j < VECS; ++j) xv[j] = x_at(xb[j] + k);
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
        const float wv = w_at(wb[r] + k);
        [[unroll]] for (uint j = 0u; j < VECS; ++j) acc[r * VECS + j] += wv * xv[j];
      }
    }
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
