#version 450
// y[n, m] = sum_k w[m, k] * x[n, k] for many vectors (prefill on GPUs) with weights in a GGUF
// block format (blocks.glsl): 32x32 output tiles staged through shared memory one sub-block
// (32 along k) at a time. Half the invocations decode one weight row's sub-block each, the
// other half stage x; all 64 then own a 4x4 block with stride 8 as matmul.comp does.
// f32 accumulation.
#include "common.glsl"
#include "blocks.glsl"

DECLARE_FETCH(2, xs)
layout(push_constant) uniform Push {
  uint m, n, k, q_off, q_stride, s_off, s_stride, x_off, x_stride, y_off, y_stride, b_off;
} p;  // q_*: in 32-bit words; s_*: in f16 elements; x_*, y_*, b_off: in floats
#define Y_BINDING 3
#include "epilogue.glsl"

const uint BM = 32u, BN = 32u, BK = 32u, T = 4u, THREADS = 64u;
shared float w_tile[BK][BM + 1u];
shared float x_tile[BK][BN + 1u];

void main() {
  const uint tid = gl_LocalInvocationID.x;
  const uint m0 = gl_WorkGroupID.x * BM, n0 = gl_WorkGroupID.y * BN;
  const uint tm = tid % 8u, tn = tid / 8u;
  float acc[T][T];
  [[unroll]] for (uint i = 0u; i < T; ++i)
    [[unroll]] for (uint j = 0u; j < T; ++j) acc[i][j] = 0.0;

  for (uint sb = 0u; sb < p.k / BK; ++sb) {
    if (tid < BM) {  // weight row m0 + tid, sub-block sb
      const uint row = min(m0 + tid, p.m - 1u);  // rows past the end are computed, then dropped
      const SubBlock s = decode((p.q_off + row * p.q_stride) / 4u, p.s_off + row * p.s_stride, sb);
      [[unroll]] for (uint c = 0u; c < 8u; ++c)
        [[unroll]] for (uint e = 0u; e < 4u; ++e) w_tile[4u * c + e][tid] = s.a[c >> 2u] * s.q[c][e] + s.b[c >> 2u];
    } else {  // vector n0 + (tid - BM), its 32 values at sb
      const uint v = min(n0 + tid - BM, p.n - 1u);
      const uint base = (p.x_off + v * p.x_stride) / 4u + 8u * sb;
      [[unroll]] for (uint c = 0u; c < 8u; ++c) {
        const vec4 xv = uintBitsToFloat(FETCH(xs, base + c));
        [[unroll]] for (uint e = 0u; e < 4u; ++e) x_tile[4u * c + e][tid - BM] = xv[e];
      }
    }
    barrier();
    [[unroll]] for (uint kk = 0u; kk < BK; ++kk) {
      float a[T], b[T];
      [[unroll]] for (uint i = 0u; i < T; ++i) a[i] = w_tile[kk][tm + 8u * i];
      [[unroll]] for (uint j = 0u; j < T; ++j) b[j] = x_tile[kk][tn + 8u * j];
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
