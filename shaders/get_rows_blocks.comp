#version 450
// out[i] = table[ids[i]] for a table in a GGUF block format (blocks.glsl): one invocation per
// (id, sub-block of 32 values). The table may be one chunk of a larger table holding rows
// [t_row0, t_row0 + t_rows); ids outside it are left to the other chunks' dispatches.
#include "common.glsl"
#include "blocks.glsl"

layout(set = 0, binding = 2) readonly buffer Ids { uint ids[]; };
layout(set = 0, binding = 3) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint n_ids, cols, q_off, q_stride, s_off, s_stride, t_row0, t_rows, id_off, o_off, o_stride;
} p;  // q_*: in 32-bit words; s_*: in f16 elements

void main() {
  const uint i = linear_invocation(), per_row = p.cols / 32u;
  if (i >= p.n_ids * per_row) return;
  const uint r = i / per_row, sb = i - r * per_row;
  const uint id = ids[p.id_off + r];
  if (id < p.t_row0 || id - p.t_row0 >= p.t_rows) return;
  const uint row = id - p.t_row0;
  const SubBlock s = decode((p.q_off + row * p.q_stride) / 4u, p.s_off + row * p.s_stride, sb);
  const uint first = p.o_off + r * p.o_stride + 32u * sb;
  [[unroll]] for (uint c = 0u; c < 8u; ++c)
    [[unroll]] for (uint e = 0u; e < 4u; ++e) o[first + 4u * c + e] = s.a[c >> 2u] * s.q[c][e] + s.b[c >> 2u];
}
