#version 450
// out = a (+|*) b elementwise; b is either the same shape or one row broadcast (b_stride 0).
#include "common.glsl"
layout(constant_id = 1) const uint OP = 0;  // 0: add, 1: mul

layout(set = 0, binding = 0) readonly buffer A { float a[]; };
layout(set = 0, binding = 1) readonly buffer B { float b[]; };
layout(set = 0, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, a_off, a_stride, b_off, b_stride, o_off, o_stride;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.rows * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  const float x = a[p.a_off + r * p.a_stride + c];
  const float y = b[p.b_off + r * p.b_stride + c];
  o[p.o_off + r * p.o_stride + c] = OP == 0u ? x + y : x * y;
}
