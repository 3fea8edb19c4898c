#version 450
// out[r] = x[r] / sqrt(mean(x[r]^2) + eps) * w; one workgroup per row.
#include "common.glsl"
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, x_off, x_stride, w_off, o_off, o_stride;
  float eps;
} p;

void main() {
  const uint r = linear_workgroup();
  if (r >= p.rows) return;
  const uint xb = p.x_off + r * p.x_stride, ob = p.o_off + r * p.o_stride;
  float ss = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) ss += x[xb + c] * x[xb + c];
  ss = wg_sum(ss);
  const float inv = inversesqrt(ss / float(p.cols) + p.eps);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) o[ob + c] = x[xb + c] * inv * w[p.w_off + c];
}
