#version 450
// y[n, m] = sum_k w[m, k] * x[n, k] for many vectors (prefill): 32x32 output tiles staged
// through shared memory in steps of 16 along k; 64 invocations each own a 4x4 block with
// stride 8, so neighbouring invocations write neighbouring outputs. f32 accumulation.
#include "common.glsl"
#define W_BINDING 0
#include "weights.glsl"

layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(push_constant) uniform Push {
  uint m, n, k, w_off, w_stride, x_off, x_stride, y_off, y_stride, b_off;
} p;
#define Y_BINDING 2
#include "epilogue.glsl"

const uint BM = 32u, BN = 32u, BK = 16u, T = 4u, THREADS = 64u;
shared float ws[BK][BM + 1u];
shared float xs[BK][BN + 1u];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint tm = tid % 8u, tn = tid / 8u;
  float acc[T][T];
  [[unroll]] for (uint i = 0u; i < T; ++i)
    [[unroll]] for (uint j = 0u; j < T; ++j) acc[i][j] = 0.0;

  for (uint k0 = 0u; k0 < p.k; k0 += BK) {
    [[unroll]] for (uint l = 0u; l < BM * BK / THREADS; ++l) {
      const uint idx = tid + l * THREADS, mm = idx / BK, kk = idx % BK;
      const uint gm = m0 + mm, gk = k0 + kk;
      ws[kk][mm] = (gm < p.m && gk < p.k) ? load_w(p.w_off + gm * p.w_stride + gk) : 0.0;
      const uint gn = n0 + mm;
      xs[kk][mm] = (gn < p.n && gk < p.k) ? x[p.x_off + gn * p.x_stride + gk] : 0.0;
    }
    barrier();
    [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
      float a[T], b[T];
      [[unroll]] for (uint i = 0u; i < T; ++i) a[i] = ws[kk][tm + 8u * i];
      [[unroll]] for (uint j = 0u; j < T; ++j) b[j] = xs[kk][tn + 8u * j];
      [[unroll]] for (uint i = 0u; i < T; ++i)
        [[unroll]] for (uint j = 0u; j < T; ++j) acc[i][j] += a[i] * b[j];
    }
    barrier();
  }
  [[unroll]] for (uint j = 0u; j < T; ++j) {
    const uint gn = n0 + tn + 8u * j;
    if (gn >= p.n) continue;
    [[unroll]] for (uint i = 0u; i < T; ++i) {
      const uint gm = m0 + tm + 8u * i;
      if (gm < p.m) store_y(p.y_off + gn * p.y_stride + gm, gm, acc[i][j]);
    }
  }
}
