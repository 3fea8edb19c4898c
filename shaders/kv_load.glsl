// Reads of KV-cache rows, K and V each in its own storage type: K_F16, K_Q8_0, K_Q4_0 or f32
// (none defined), and the same for V_ (runtime/tensor.h gives the block rows' layout).
// Before including: K_BINDING (and V_BINDING where V is read); KV_VEC4 to declare f32/f16 rows
// as 4-wide elements. LOAD_K(ROW, E) is value E of the row starting at element ROW (scalar
// rows and block rows), LOAD_K4(ROW, E) values E..E+3 for E % 4 == 0 (vec4 rows, ROW % 4 == 0,
// and block rows); LOAD_V the same. Block rows also define K_BLOCKS (V_BLOCKS), with
// LOAD_K4_QUANTS and LOAD_K_SCALE for applying a block's scale once, and need ROW_VALUES, the
// values per row, defined where the macros are used (scales start after the quants).
#if defined(K_F16) || defined(V_F16)
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#endif
#ifdef KV_VEC4
#define KV_F32_T vec4
#define KV_F16_T f16vec4
#else
#define KV_F32_T float
#define KV_F16_T float16_t
#endif

#include "kv_blocks.glsl"
#if defined(K_Q8_0) || defined(K_Q4_0)
layout(set = 0, binding = K_BINDING) readonly buffer K { uint k_data[]; };
#elif defined(K_F16)
layout(set = 0, binding = K_BINDING) readonly buffer K { KV_F16_T k_data[]; };
#else
layout(set = 0, binding = K_BINDING) readonly buffer K { KV_F32_T k_data[]; };
#endif
#if defined(K_Q8_0)
#define LOAD_K(ROW, E) Q8_0_LOAD(k_data, ROW, E)
#define LOAD_K4(ROW, E) Q8_0_LOAD4(k_data, ROW, E)
#define LOAD_K4_QUANTS(ROW, E) Q8_0_QUANTS4(k_data, ROW, E)
#define LOAD_K_SCALE(ROW, E) Q8_0_SCALE(k_data, ROW, E)
#define K_BLOCKS
#elif defined(K_Q4_0)
#define LOAD_K(ROW, E) Q4_0_LOAD(k_data, ROW, E)
#define LOAD_K4(ROW, E) Q4_0_LOAD4(k_data, ROW, E)
#define LOAD_K4_QUANTS(ROW, E) Q4_0_QUANTS4(k_data, ROW, E)
#define LOAD_K_SCALE(ROW, E) Q4_0_SCALE(k_data, ROW, E)
#define K_BLOCKS
#else
#define LOAD_K(ROW, E) float(k_data[(ROW) + (E)])
#define LOAD_K4(ROW, E) vec4(k_data[((ROW) + (E)) >> 2u])
#endif

#ifdef V_BINDING
#if defined(V_Q8_0) || defined(V_Q4_0)
layout(set = 0, binding = V_BINDING) readonly buffer V { uint v_data[]; };
#elif defined(V_F16)
layout(set = 0, binding = V_BINDING) readonly buffer V { KV_F16_T v_data[]; };
#else
layout(set = 0, binding = V_BINDING) readonly buffer V { KV_F32_T v_data[]; };
#endif
#if defined(V_Q8_0)
#define LOAD_V(ROW, E) Q8_0_LOAD(v_data, ROW, E)
#define LOAD_V4(ROW, E) Q8_0_LOAD4(v_data, ROW, E)
#define LOAD_V4_QUANTS(ROW, E) Q8_0_QUANTS4(v_data, ROW, E)
#define LOAD_V_SCALE(ROW, E) Q8_0_SCALE(v_data, ROW, E)
#define V_BLOCKS
#elif defined(V_Q4_0)
#define LOAD_V(ROW, E) Q4_0_LOAD(v_data, ROW, E)
#define LOAD_V4(ROW, E) Q4_0_LOAD4(v_data, ROW, E)
#define LOAD_V4_QUANTS(ROW, E) Q4_0_QUANTS4(v_data, ROW, E)
#define LOAD_V_SCALE(ROW, E) Q4_0_SCALE(v_data, ROW, E)
#define V_BLOCKS
#else
#define LOAD_V(ROW, E) float(v_data[(ROW) + (E)])
#define LOAD_V4(ROW, E) vec4(v_data[((ROW) + (E)) >> 2u])
#endif
#endif
