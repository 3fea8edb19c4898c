// Push block and work split shared by attention.comp and attention_decode.comp (the host fills
// both from one struct in runtime/ops/attention.cpp). Include before attention_mask.glsl.
layout(push_constant) uniform Push {
  uint n_q, n_heads, group, head_dim;
  uint q_off, q_stride, k_off, k_stride, v_off, v_stride, o_off, o_stride;
  uint kv_base, kv_rows, n_kv, splits, partial_base, n_partials;
  uint kpos_off, qpos_off, mask_kind, prefix, window, window_after, q_slot0, mask_off, mask_stride, mask_head_stride;
  float scale, softcap;
} p;

const uint FINAL_OUTPUT = 0xffffffffu;  // partial_base value: write the output, not partials

// Key slots [t0, t1) of split `split`: this dispatch covers [kv_base, kv_base + kv_rows) cut at
// n_kv (a step value in decode), shared evenly by `splits` workgroups.
void key_range(uint split, out uint t0, out uint t1) {
  const uint end = min(p.kv_base + p.kv_rows, param(p.n_kv));
  const uint len = end > p.kv_base ? end - p.kv_base : 0u;
  const uint per = (len + p.splits - 1u) / p.splits;
  t0 = p.kv_base + min(split * per, len);
  t1 = p.kv_base + min(split * per + per, len);
}

// Where split `split` of (query qi, head h) writes (max, sum, unnormalized output[head_dim]).
uint partial_index(uint qi, uint h, uint split) {
  return ((qi * p.n_heads + h) * p.n_partials + p.partial_base + split) * (p.head_dim + 2u);
}
