#version 450
// Attention for a few queries (decode): one query per workgroup, and its invocations take
// different keys (t = t0 + lane, t0 + lane + L, ...), each keeping its own online softmax over
// whole head_dim dot products (4-wide loads), merged across the workgroup once at the end.
// No reduction per key, unlike attention.comp. Same bindings and push block (attention_push.glsl);
// needs head_dim to be a multiple of 4, and for f32/f16 rows the K/V row stride and offsets too
// (TEXEL_READS: K/V read as 16-byte texels, f16 ones then multiples of 8).
#include "common.glsl"
layout(constant_id = 1) const uint HD4 = 16;  // head_dim / 4
#define REDUCE_VEC4
#include "reduce.glsl"

#if defined(TEXEL_READS)  // f32 or f16 K/V (one type) from 16-byte texels (fetch.glsl)
#include "fetch.glsl"
DECLARE_FETCH(1, k_units)
DECLARE_FETCH(2, v_units)
#if defined(K_F16)  // elements e .. e + 3 of a buffer of f16 texels (8 per texel)
vec4 kv4(uvec4 u, uint e) {
  return (e & 4u) != 0u ? vec4(unpackHalf2x16(u.z), unpackHalf2x16(u.w)) : vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
}
#define LOAD_K4(ROW, E) kv4(FETCH(k_units, ((ROW) + (E)) >> 3u), (ROW) + (E))
#define LOAD_V4(ROW, E) kv4(FETCH(v_units, ((ROW) + (E)) >> 3u), (ROW) + (E))
#else
#define LOAD_K4(ROW, E) uintBitsToFloat(FETCH(k_units, ((ROW) + (E)) >> 2u))
#define LOAD_V4(ROW, E) uintBitsToFloat(FETCH(v_units, ((ROW) + (E)) >> 2u))
#endif
#else
#define K_BINDING 1
#define V_BINDING 2
#define KV_VEC4
#include "kv_load.glsl"
#endif
layout(set = 0, binding = 0) readonly buffer Q { float q_in[]; };
layout(set = 0, binding = 3) readonly buffer KPos { int key_pos[]; };
layout(set = 0, binding = 4) readonly buffer QPos { int query_pos[]; };
layout(set = 0, binding = 5) readonly buffer Mask { float mask_bias_values[]; };
layout(set = 0, binding = 6) writeonly buffer O { float o[]; };
#include "attention_push.glsl"
#include "attention_mask.glsl"
#define ROW_VALUES ((p.n_heads / p.group) * p.head_dim)

void main() {
  const uint h = gl_WorkGroupID.x, qi = gl_WorkGroupID.y, split = gl_WorkGroupID.z;
  const uint lane = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
  const uint kvh = h / p.group;
  uint t0, t1;
  key_range(split, t0, t1);

  vec4 qv[HD4], acc[HD4];
  const uint qb = p.q_off + qi * p.q_stride + h * p.head_dim;
  [[unroll]] for (uint j = 0u; j < HD4; ++j) {
    qv[j] = vec4(q_in[qb + 4u * j], q_in[qb + 4u * j + 1u], q_in[qb + 4u * j + 2u], q_in[qb + 4u * j + 3u]) * p.scale;
    acc[j] = vec4(0.0);
  }
  float m = NEG_INF, l = 0.0;
  for (uint t = t0 + lane; t < t1; t += L) {
    const float bias = mask_bias(qi, t, h);
    if (bias == NEG_INF) continue;
    const uint kb = p.k_off + (t - p.kv_base) * p.k_stride, vb = p.v_off + (t - p.kv_base) * p.v_stride;
    const uint e0 = kvh * p.head_dim;
    float s = 0.0;
#ifdef K_BLOCKS
    if (HD4 % 8u == 0u) {  // whole blocks per head: each block's scale applied once
      [[unroll]] for (uint b = 0u; b < HD4 / 8u; ++b) {
        float part = 0.0;
        [[unroll]] for (uint c = 0u; c < 8u; ++c) part += dot(qv[8u * b + c], LOAD_K4_QUANTS(kb, e0 + 32u * b + 4u * c));
        s += part * LOAD_K_SCALE(kb, e0 + 32u * b);
      }
    } else
#endif
      [[unroll]] for (uint j = 0u; j < HD4; ++j) s += dot(qv[j], LOAD_K4(kb, e0 + 4u * j));
    s = soft_cap(s) + bias;
    const float m_new = max(m, s);
    const float corr = exp(m - m_new), e = exp(s - m_new);  // m = -inf gives corr 0
    l = l * corr + e;
#ifdef V_BLOCKS
    if (HD4 % 8u == 0u) {
      [[unroll]] for (uint b = 0u; b < HD4 / 8u; ++b) {
        const float es = e * LOAD_V_SCALE(vb, e0 + 32u * b);
        [[unroll]] for (uint c = 0u; c < 8u; ++c)
          acc[8u * b + c] = acc[8u * b + c] * corr + es * LOAD_V4_QUANTS(vb, e0 + 32u * b + 4u * c);
      }
    } else
#endif
      [[unroll]] for (uint j = 0u; j < HD4; ++j) acc[j] = acc[j] * corr + e * LOAD_V4(vb, e0 + 4u * j);
    m = m_new;
  }
  // Merge the invocations' softmax states.
  const float mx = wg_max(m);
  const float w = m == NEG_INF ? 0.0 : exp(m - mx);
  const float sum = wg_sum(l * w);
  [[unroll]] for (uint j = 0u; j < HD4; ++j) acc[j] = wg_sum4(acc[j] * w);

  if (p.partial_base == FINAL_OUTPUT) {
    const float inv = sum > 0.0 ? 1.0 / sum : 0.0;  // a query that sees no key outputs zeros
    const uint ob = p.o_off + qi * p.o_stride + h * p.head_dim;
    for (uint j = lane; j < HD4; j += L)
      for (uint c = 0u; c < 4u; ++c) o[ob + 4u * j + c] = acc[j][c] * inv;
  } else {
    const uint base = partial_index(qi, h, split);
    if (lane == 0u) {
      o[base] = mx;
      o[base + 1u] = sum;
    }
    for (uint j = lane; j < HD4; j += L)
      for (uint c = 0u; c < 4u; ++c) o[base + 2u + 4u * j + c] = acc[j][c];
  }
}
