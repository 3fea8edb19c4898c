#version 450
// Attention probabilities for probes (not the fast path): probs[h * n_q + q, t] for key slots
// t < n_kv, with the same scores and masks as attention.comp. One workgroup per (query, head);
// invocations stride over keys. With scores_only: the masked scores, -inf in columns n_kv and on
// up to probs_cols (a softmax over several sources' scores side by side gives merged attention's).
#include "common.glsl"
#include "reduce.glsl"

#define K_BINDING 1
#include "kv_load.glsl"
layout(set = 0, binding = 0) readonly buffer Q { float q_in[]; };
layout(set = 0, binding = 2) readonly buffer KPos { int key_pos[]; };
layout(set = 0, binding = 3) readonly buffer QPos { int query_pos[]; };
layout(set = 0, binding = 4) readonly buffer Mask { float mask_bias_values[]; };
layout(set = 0, binding = 5) buffer Probs { float probs[]; };
layout(push_constant) uniform Push {
  uint n_q, n_heads, group, head_dim, q_off, q_stride, k_off, k_stride, n_kv, probs_off, probs_stride;
  uint kpos_off, qpos_off, mask_kind, prefix, window, window_after, q_slot0, mask_off, mask_stride, mask_head_stride;
  float scale, softcap;
  uint probs_cols, scores_only;
} p;
#include "attention_mask.glsl"
#define ROW_VALUES ((p.n_heads / p.group) * p.head_dim)

void main() {
  const uint q = gl_WorkGroupID.y, h = gl_WorkGroupID.x, kvh = h / p.group;
  const uint n = param(p.n_kv);
  const uint row = p.probs_off + (h * p.n_q + q) * p.probs_stride;
  float mx = NEG_INF;
  for (uint t = gl_LocalInvocationID.x; t < n; t += gl_WorkGroupSize.x) {
    float s = 0.0;
    for (uint d = 0u; d < p.head_dim; ++d)
      s += q_in[p.q_off + q * p.q_stride + h * p.head_dim + d] * p.scale * LOAD_K(p.k_off + t * p.k_stride, kvh * p.head_dim + d);
    s = soft_cap(s) + mask_bias(q, t, h);
    probs[row + t] = s;
    mx = max(mx, s);
  }
  if (p.scores_only != 0u) {
    for (uint t = n + gl_LocalInvocationID.x; t < p.probs_cols; t += gl_WorkGroupSize.x) probs[row + t] = NEG_INF;
    return;
  }
  mx = wg_max(mx);
  float sum = 0.0;
  for (uint t = gl_LocalInvocationID.x; t < n; t += gl_WorkGroupSize.x) {
    const float e = mx == NEG_INF ? 0.0 : exp(probs[row + t] - mx);
    probs[row + t] = e;
    sum += e;
  }
  sum = wg_sum(sum);
  const float inv = sum > 0.0 ? 1.0 / sum : 0.0;
  for (uint t = gl_LocalInvocationID.x; t < n; t += gl_WorkGroupSize.x) probs[row + t] *= inv;
}
