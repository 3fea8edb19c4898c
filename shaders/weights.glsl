// Read access to a weight matrix at binding W_BINDING, stored as f32 (W_F32), f16 through
// 16-bit storage (W_F16), or f16 read as packed 32-bit words where 16-bit storage is missing
// (W_F16_PACKED). load_w(e) reads element e; load_w4(e) reads elements e..e+3 (e % 4 == 0).
#if defined(W_F32)
layout(set = 0, binding = W_BINDING) readonly buffer WeightsF32 { float w_scalar[]; };
layout(set = 0, binding = W_BINDING) readonly buffer WeightsF32x4 { vec4 w_vec4[]; };
float load_w(uint e) { return w_scalar[e]; }
vec4 load_w4(uint e) { return w_vec4[e >> 2]; }
#elif defined(W_F16)
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(set = 0, binding = W_BINDING) readonly buffer WeightsF16 { float16_t w_scalar[]; };
layout(set = 0, binding = W_BINDING) readonly buffer WeightsF16x4 { f16vec4 w_vec4[]; };
float load_w(uint e) { return float(w_scalar[e]); }
vec4 load_w4(uint e) { return vec4(w_vec4[e >> 2]); }
#elif defined(W_F16_PACKED)
layout(set = 0, binding = W_BINDING) readonly buffer WeightsPacked { uint w_scalar[]; };
layout(set = 0, binding = W_BINDING) readonly buffer WeightsPackedx4 { uvec2 w_vec4[]; };
float load_w(uint e) {
  const vec2 h = unpackHalf2x16(w_scalar[e >> 1]);
  return (e & 1u) != 0u ? h.y : h.x;
}
vec4 load_w4(uint e) {
  uvec2 q = w_vec4[e >> 2];
  return vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y));
}
#else
#error "define W_F32, W_F16 or W_F16_PACKED"
#endif
