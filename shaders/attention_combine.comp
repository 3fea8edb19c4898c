#version 450
// Merges the partial results of attention.comp's splits: one workgroup per (query, head).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Partials { float part[]; };
layout(set = 0, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint n_q, n_heads, head_dim, n_partials, o_off, o_stride;
} p;

void main() {
  const uint qh = linear_workgroup();
  if (qh >= p.n_q * p.n_heads) return;
  const uint q = qh / p.n_heads, h = qh - q * p.n_heads;
  const uint base = qh * p.n_partials * (p.head_dim + 2u);
  float m = uintBitsToFloat(0xff800000u);  // -inf
  for (uint s = 0u; s < p.n_partials; ++s) m = max(m, part[base + s * (p.head_dim + 2u)]);
  float l = 0.0;
  for (uint s = 0u; s < p.n_partials; ++s) {
    const uint b = base + s * (p.head_dim + 2u);
    if (part[b + 1u] > 0.0) l += part[b + 1u] * exp(part[b] - m);
  }
  const float inv = l > 0.0 ? 1.0 / l : 0.0;
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim; d += gl_WorkGroupSize.x) {
    float acc = 0.0;
    for (uint s = 0u; s < p.n_partials; ++s) {
      const uint b = base + s * (p.head_dim + 2u);
      if (part[b + 1u] > 0.0) acc += part[b + 2u + d] * exp(part[b] - m);
    }
    o[p.o_off + q * p.o_stride + h * p.head_dim + d] = acc * inv;
  }
}
