#version 450
// out = f(x) elementwise: scale, silu, gelu (tanh approximation), gelu (exact, erf), a soft-cap
// or relu.
#include "common.glsl"
#include "activation.glsl"
// 0: scale, 1: silu, 2: gelu_tanh, 3: gelu_erf, 4: softcap (scale: the cap), 5: relu
layout(constant_id = 1) const uint OP = 0;

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, x_off, x_stride, o_off, o_stride;
  float scale;
} p;

float apply(float v) {
  if (OP == 0u) return v * p.scale;
  if (OP == 1u) return silu(v);
  if (OP == 2u) return gelu_tanh(v);
  if (OP == 3u) return gelu_erf(v);
  if (OP == 4u) return p.scale * stable_tanh(v / p.scale);
  return max(v, 0.0);
}

void main() {
  const uint i = linear_invocation();
  if (i >= p.rows * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  o[p.o_off + r * p.o_stride + c] = apply(x[p.x_off + r * p.x_stride + c]);
}
