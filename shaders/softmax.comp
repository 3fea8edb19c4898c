#version 450
// Row softmax over the first n_valid columns (max-subtracted); columns past n_valid get 0.
// n_valid may be a step value (param()), e.g. the filled length of a cache.
#include "common.glsl"
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, x_off, x_stride, o_off, o_stride, n_valid;
} p;

void main() {
  const uint r = linear_workgroup();
  if (r >= p.rows) return;
  const uint n = min(param(p.n_valid), p.cols);
  const uint xb = p.x_off + r * p.x_stride, ob = p.o_off + r * p.o_stride;
  float m = -3.402823466e38;
  for (uint c = gl_LocalInvocationID.x; c < n; c += gl_WorkGroupSize.x) m = max(m, x[xb + c]);
  m = wg_max(m);
  float s = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < n; c += gl_WorkGroupSize.x) s += exp(x[xb + c] - m);
  const float inv = 1.0 / wg_sum(s);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x)
    o[ob + c] = c < n ? exp(x[xb + c] - m) * inv : 0.0;
}
