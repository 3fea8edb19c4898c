// Activations shared by unary.comp and binary.comp's gated products.

// erf with |error| < 1.5e-7 (Abramowitz & Stegun 7.1.26); GLSL has no erf.
float erf_approx(float v) {
  const float t = 1.0 / (1.0 + 0.3275911 * abs(v));
  const float y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * exp(-v * v);
  return sign(v) * y;
}

float silu(float v) { return v / (1.0 + exp(-v)); }

// tanh(z) = 1 - 2 / (exp(2z) + 1), stable for large |z| where GLSL tanh may overflow.
float stable_tanh(float z) { return 1.0 - 2.0 / (exp(2.0 * clamp(z, -15.0, 15.0)) + 1.0); }

float gelu_tanh(float v) { return 0.5 * v * (1.0 + stable_tanh(0.7978845608028654 * (v + 0.044715 * v * v * v))); }

float gelu_erf(float v) { return 0.5 * v * (1.0 + erf_approx(v * 0.7071067811865476)); }
