// Which keys a query may see, shared by attention.comp and attention_probs.comp. Requires the
// push block `p` (mask_kind, prefix, window, window_after, q_slot0, explicit mask fields) and
// the buffers key_pos, query_pos, mask_bias_values.
#define NEG_INF uintBitsToFloat(0xff800000u)
const uint MASK_NONE = 0u, MASK_CAUSAL = 1u, MASK_PREFIX_LM = 2u, MASK_WINDOW = 3u, MASK_WINDOW_BOTH_WAYS = 4u;
const uint NO_EXPLICIT_MASK = 0xffffffffu;

// Additive bias for query q (index within this call), key slot t and head h: 0, -inf, or the
// explicit mask (per head where mask_head_stride is set: T5's relative position bias).
float mask_bias(uint q, uint t, uint h) {
  if (p.mask_kind == MASK_CAUSAL || p.mask_kind == MASK_WINDOW) {
    const int kp = key_pos[p.kpos_off + t], qp = query_pos[p.qpos_off + q];
    if (kp > qp) return NEG_INF;
    if (p.mask_kind == MASK_WINDOW && qp - kp >= int(p.window)) return NEG_INF;
  } else if (p.mask_kind == MASK_WINDOW_BOTH_WAYS) {
    const int before = query_pos[p.qpos_off + q] - key_pos[p.kpos_off + t];
    if (before >= int(p.window) || -before >= int(p.window_after)) return NEG_INF;
  } else if (p.mask_kind == MASK_PREFIX_LM) {
    // By slot order: keys in the prefix are visible to every query, later keys causally.
    if (t >= p.prefix && t > param(p.q_slot0) + q) return NEG_INF;
  }
  return p.mask_off == NO_EXPLICIT_MASK ? 0.0 : mask_bias_values[p.mask_off + h * p.mask_head_stride + q * p.mask_stride + t];
}

float soft_cap(float s) { return p.softcap > 0.0 ? p.softcap * tanh(s / p.softcap) : s; }
