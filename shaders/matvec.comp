#version 450
// y[v, m] = sum_k w[m, k] * x[v, k] for a few vectors v (decode): each workgroup computes ROWS
// outputs of one vector; its invocations stride along k with 4-wide loads, so the weights are
// read once, coalesced, at any subgroup size. f32 accumulation whatever the weight type.
#include "common.glsl"
layout(constant_id = 1) const uint ROWS = 4;
#include "reduce.glsl"
#define W_BINDING 0
#include "weights.glsl"

layout(set = 0, binding = 1) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer X4 { vec4 x4[]; };
layout(set = 0, binding = 2) writeonly buffer Y { float y[]; };
layout(push_constant) uniform Push {
  uint m, k, w_off, w_stride, x_off, x_stride, y_off, y_stride;
} p;

void main() {
  const uint row0 = linear_workgroup() * ROWS;
  if (row0 >= p.m) return;
  const uint v = gl_WorkGroupID.z;
  const uint xb = p.x_off + v * p.x_stride;
  uint wb[ROWS];
  float acc[ROWS];
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) {
    wb[r] = p.w_off + min(row0 + r, p.m - 1u) * p.w_stride;  // clamped rows are computed and dropped
    acc[r] = 0.0;
  }
  const bool aligned = ((p.k | p.w_off | p.w_stride | xb) & 3u) == 0u;
  if (aligned) {
    for (uint k4 = gl_LocalInvocationID.x; k4 < p.k / 4u; k4 += gl_WorkGroupSize.x) {
      const vec4 xv = x4[xb / 4u + k4];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r] += dot(load_w4(wb[r] + 4u * k4), xv);
    }
  } else {
    for (uint k = gl_LocalInvocationID.x; k < p.k; k += gl_WorkGroupSize.x) {
      const float xv = x[xb + k];
      [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r] += load_w(wb[r] + k) * xv;
    }
  }
  [[unroll]] for (uint r = 0u; r < ROWS; ++r) acc[r] = wg_sum(acc[r]);
  if (gl_LocalInvocationID.x == 0u) {
    [[unroll]] for (uint r = 0u; r < ROWS; ++r)
      if (row0 + r < p.m) y[p.y_off + v * p.y_stride + row0 + r] = acc[r];
  }
}
