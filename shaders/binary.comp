#version 450
// out = a op b elementwise; b is either the same shape or one row broadcast (b_stride 0).
// op: a + b, a * b, or a gated product act(a) * b (SwiGLU, GeGLU).
#include "common.glsl"
#include "activation.glsl"
layout(constant_id = 1) const uint OP = 0;  // 0: add, 1: mul, 2: silu(a) b, 3: gelu_tanh(a) b, 4: gelu_erf(a) b

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, a_off, a_stride, b_off, b_stride, o_off, o_stride;
} p;

float apply(float x, float y) {
  if (OP == 0u) return x + y;
  if (OP == 1u) return x * y;
  if (OP == 2u) return silu(x) * y;
  if (OP == 3u) return gelu_tanh(x) * y;
  return gelu_erf(x) * y;
}

void main() {
  const uint i = linear_invocation();
  if (i >= p.rows * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  o[p.o_off + r * p.o_stride + c] = apply(a[p.a_off + r * p.a_stride + c], b[p.b_off + r * p.b_stride + c]);
}
