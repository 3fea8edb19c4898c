#version 450
// T5's relative position bias as a per-head additive attention mask:
// out[h * n_q + i, t] = table[bucket(key_pos[t] - query_pos[i]), h] for every column t.
// A bucket comes from the distance's magnitude through by_distance (host-computed with the
// models' own float formula; distances past its end take its last entry), plus half the
// buckets for keys after the query where attention is bidirectional; causal buckets count
// only keys before the query.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer Table { float table[]; };
layout(set = 0, binding = 1) readonly buffer Buckets { int by_distance[]; };
layout(set = 0, binding = 2) readonly buffer KPos { int key_pos[]; };
layout(set = 0, binding = 3) readonly buffer QPos { int query_pos[]; };
layout(set = 0, binding = 4) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint n_q, n_heads, cols, table_off, table_stride, buckets_off, n_distances, kpos_off, qpos_off, o_off, o_stride;
  uint bidirectional_offset;  // 0: causal; else the bucket offset of keys after the query
} p;

void main() {
  const uint idx = linear_invocation();
  if (idx >= p.n_heads * p.n_q * p.cols) return;
  const uint t = idx % p.cols, row = idx / p.cols, h = row / p.n_q, i = row % p.n_q;
  const int rel = key_pos[p.kpos_off + t] - query_pos[p.qpos_off + i];
  uint offset = 0u, distance;
  if (p.bidirectional_offset != 0u) {
    offset = rel > 0 ? p.bidirectional_offset : 0u;
    distance = uint(abs(rel));
  } else {
    distance = uint(max(-rel, 0));
  }
  const uint bucket = offset + uint(by_distance[p.buckets_off + min(distance, p.n_distances - 1u)]);
  o[p.o_off + row * p.o_stride + t] = table[p.table_off + bucket * p.table_stride + h];
}
