#version 450
// out = f(x) elementwise: scale, silu, gelu (tanh approximation) or gelu (exact, erf).
#include "common.glsl"
layout(constant_id = 1) const uint OP = 0;  // 0: scale, 1: silu, 2: gelu_tanh, 3: gelu_erf

layout(set = 0, binding = 0) readonly buffer X { float x[]; };
layout(set = 0, binding = 1) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint rows, cols, x_off, x_stride, o_off, o_stride;
  float scale;
} p;

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26); GLSL has no erf.
float erf_approx(float v) {
  const float t = 1.0 / (1.0 + 0.3275911 * abs(v));
  const float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-v * v);
  return sign(v) * y;
}

float apply(float v) {
  if (OP == 0u) return v * p.scale;
  if (OP == 1u) return v / (1.0 + exp(-v));
  if (OP == 2u) {
    const float inner = 0.7978845608028654 * (v + 0.044715 * v * v * v);
    // tanh(z) = 1 - 2 / (exp(2z) + 1), stable for large |z| where GLSL tanh may overflow.
    const float th = 1.0 - 2.0 / (exp(2.0 * clamp(inner, -15.0, 15.0)) + 1.0);
    return 0.5 * v * (1.0 + th);
  }
  return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476));
}

void main() {
  const uint i = linear_invocation();
  if (i >= p.rows * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  o[p.o_off + r * p.o_stride + c] = apply(x[p.x_off + r * p.x_stride + c]);
}
