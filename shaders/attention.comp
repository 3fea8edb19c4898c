#version 450
// Scaled dot-product attention over a KV cache with online (flash-style) softmax.
// Workgroup (head, block of QB queries, split): its invocations split head_dim between them
// (DPL dims each), so each key costs one workgroup reduction per query and no barrier when the
// workgroup is one subgroup. GQA/MQA: query head h reads kv head h / group.
// The dispatch covers key slots [kv_base, kv_base + kv_rows) of one buffer range, cut at
// n_kv (a step value in decode); `splits` workgroups share it. With partial_base set, each
// writes (max, sum, unnormalized output) for attention_combine.comp instead of the output.
#include "common.glsl"
layout(constant_id = 1) const uint DPL = 8;  // head dims per invocation
layout(constant_id = 2) const uint QB = 1;   // queries per workgroup, at most 4
#define REDUCE_VEC4
#include "reduce.glsl"

#if defined(TEXEL_READS)  // f32 or f16 K/V (one type) element e from 16-byte texels (fetch.glsl)
#include "fetch.glsl"
DECLARE_FETCH(1, k_units)
DECLARE_FETCH(2, v_units)
#if defined(K_F16)
#define LOAD_K(ROW, E) FETCH_HALF(k_units, (ROW) + (E))
#define LOAD_V(ROW, E) FETCH_HALF(v_units, (ROW) + (E))
#else
#define LOAD_K(ROW, E) uintBitsToFloat(FETCH(k_units, ((ROW) + (E)) >> 2u)[((ROW) + (E)) & 3u])
#define LOAD_V(ROW, E) uintBitsToFloat(FETCH(v_units, ((ROW) + (E)) >> 2u)[((ROW) + (E)) & 3u])
#endif
#else
#define K_BINDING 1
#define V_BINDING 2
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
  const uint h = gl_WorkGroupID.x, q0 = gl_WorkGroupID.y * QB, split = gl_WorkGroupID.z;
  const uint lane = gl_LocalInvocationID.x, L = gl_WorkGroupSize.x;
  const uint kvh = h / p.group;
  uint t0, t1;
  key_range(split, t0, t1);

  float qv[QB][DPL], acc[QB][DPL], m[QB], l[QB];
  [[unroll]] for (uint i = 0u; i < QB; ++i) {
    const uint qi = min(q0 + i, p.n_q - 1u);  // rows past the end are computed and dropped
    [[unroll]] for (uint j = 0u; j < DPL; ++j) {
      const uint d = lane + j * L;
      qv[i][j] = d < p.head_dim ? q_in[p.q_off + qi * p.q_stride + h * p.head_dim + d] * p.scale : 0.0;
      acc[i][j] = 0.0;
    }
    m[i] = NEG_INF;
    l[i] = 0.0;
  }
  for (uint t = t0; t < t1; ++t) {
    float bias[QB];
    bool visible = false;
    [[unroll]] for (uint i = 0u; i < QB; ++i) {
      bias[i] = mask_bias(min(q0 + i, p.n_q - 1u), t, h);
      visible = visible || bias[i] != NEG_INF;
    }
    if (!visible) continue;  // hidden from every query here (the future, for causal masks): skip the loads
    const uint kb = p.k_off + (t - p.kv_base) * p.k_stride, vb = p.v_off + (t - p.kv_base) * p.v_stride;
    float kd[DPL], vd[DPL];
    [[unroll]] for (uint j = 0u; j < DPL; ++j) {
      const uint d = lane + j * L;
      kd[j] = d < p.head_dim ? LOAD_K(kb, kvh * p.head_dim + d) : 0.0;
      vd[j] = d < p.head_dim ? LOAD_V(vb, kvh * p.head_dim + d) : 0.0;
    }
    vec4 part = vec4(0.0);  // one dot product per query, reduced together
    [[unroll]] for (uint i = 0u; i < QB; ++i)
      [[unroll]] for (uint j = 0u; j < DPL; ++j) part[i] += qv[i][j] * kd[j];
    part = wg_sum4(part);
    [[unroll]] for (uint i = 0u; i < QB; ++i) {
      const float s = soft_cap(part[i]) + bias[i];
      // Branch-free: a masked key (s = -inf) gets weight 0 and leaves the state unchanged.
      const float m_new = max(m[i], s);
      const float corr = m_new == NEG_INF ? 1.0 : exp(m[i] - m_new);
      const float e = s == NEG_INF ? 0.0 : exp(s - m_new);
      l[i] = l[i] * corr + e;
      [[unroll]] for (uint j = 0u; j < DPL; ++j) acc[i][j] = acc[i][j] * corr + e * vd[j];
      m[i] = m_new;
    }
  }
  [[unroll]] for (uint i = 0u; i < QB; ++i) {
    const uint qi = q0 + i;
    if (qi >= p.n_q) break;
    if (p.partial_base == FINAL_OUTPUT) {
      const float inv = l[i] > 0.0 ? 1.0 / l[i] : 0.0;  // a query that sees no key outputs zeros
      [[unroll]] for (uint j = 0u; j < DPL; ++j) {
        const uint d = lane + j * L;
        if (d < p.head_dim) o[p.o_off + qi * p.o_stride + h * p.head_dim + d] = acc[i][j] * inv;
      }
    } else {
      const uint base = partial_index(qi, h, split);
      if (lane == 0u) {
        o[base] = m[i];
        o[base + 1u] = l[i];
      }
      [[unroll]] for (uint j = 0u; j < DPL; ++j) {
        const uint d = lane + j * L;
        if (d < p.head_dim) o[base + 2u + d] = acc[i][j];
      }
    }
  }
}
