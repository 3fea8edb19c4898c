#version 450
// out = x / sqrt(mean(x^2) + eps) * w over each segment of cols values: a row of x holds
// `segments` of them (one per head for QK-norm, else one). One workgroup per segment. With
// ACCUMULATE the result is added to out instead (Gemma's post-norms, before the residual).
#include "common.glsl"
#include "reduce.glsl"

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) readonly buffer W { float w[]; };
layout(constant_id = 1) const bool ACCUMULATE = false;
layout(set = 0, binding = 2) buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, segments, cols, x_off, x_stride, w_off, o_off, o_stride;
  float eps;
} p;

void main() {
  const uint s = linear_workgroup();
  if (s >= p.rows * p.segments) return;
  const uint r = s / p.segments, seg = (s % p.segments) * p.cols;
  const uint xb = p.x_off + r * p.x_stride + seg, ob = p.o_off + r * p.o_stride + seg;
  float ss = 0.0;
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) ss += x[xb + c] * x[xb + c];
  ss = wg_sum(ss);
  const float inv = inversesqrt(ss / float(p.cols) + p.eps);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x) {
    precise const float v = x[xb + c] * inv * w[p.w_off + c];  // rounded as alone, not fused into the add
    o[ob + c] = ACCUMULATE ? o[ob + c] + v : v;
  }
}
