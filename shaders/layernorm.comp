#version 450
// out[r] = (x[r] - mean) / sqrt(var + eps) * w + b; one workgroup per row; two-pass variance.
#include "common.glsl"
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(set = 0, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, x_off, x_stride, w_off, b_off, o_off, o_stride;
  float eps;
} p;

void main() {
  const uint r = linear_workgroup();
  if (r >= p.rows) return;
  const uint xb = p.x_off + r * p.x_stride, ob = p.o_off + r * p.o_stride;
  float s = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) s += x[xb + c];
  const float mean = wg_sum(s) / float(p.cols);
  float v = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) {
    const float d = x[xb + c] - mean;
    v += d * d;
  }
  const float inv = inversesqrt(wg_sum(v) / float(p.cols) + p.eps);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x)
    o[ob + c] = (x[xb + c] - mean) * inv * w[p.w_off + c] + b[p.b_off + c];
}
