#version 450
// Rotates q or k rows [n_tokens, n_heads * head_dim] in place or into out. One invocation per
// (token, head, pair of dims); PAIRING decides which two dims form a pair and which frequency
// and position stream rotate them; dims outside the rotary part pass through.
// Angles come from a two-level cos/sin table (runtime/rope.h): for position p, r = p - first,
// angle = coarse[r / 256] + fine[r % 256]; or, to re-rotate by a delta, row `stream` directly.
#include "common.glsl"
layout(constant_id = 1) const uint PAIRING = 0;  // 0 interleaved, 1 half-split, 2 glm 2d

#ifdef DATA_F16
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
#define DATA float16_t
#else
#define DATA float
#endif
layout(set = 0, binding = 0) readonly buffer X { DATA x[]; };
layout(set = 0, binding = 1) writeonly buffer O { DATA o[]; };
layout(set = 0, binding = 2) readonly buffer Pos { int positions[]; };
layout(set = 0, binding = 3) readonly buffer Table { vec2 cos_sin[]; };
layout(push_constant) uniform Push {
  uint n_tokens, n_heads, head_dim, pairs, x_off, x_stride, o_off, o_stride;
  uint pos_off, block_pos_off, table_off, table_pairs, fine_row0;
  int table_first;
  uint use_positions;
} p;

void main() {
  const uint half_dim = p.head_dim / 2u;
  const uint i = linear_invocation();
  if (i >= p.n_tokens * p.n_heads * half_dim) return;
  const uint t = i / (p.n_heads * half_dim), rem = i - t * p.n_heads * half_dim;
  const uint h = rem / half_dim, q = rem - h * half_dim;

  uint a, b, stream = 0u;
  int freq = -1;  // -1: the pair passes through
  if (PAIRING == 0u) {
    a = 2u * q;
    b = a + 1u;
    if (q < p.pairs) freq = int(q);
  } else if (PAIRING == 1u) {
    if (q < p.pairs) {
      a = q;
      b = q + p.pairs;
      freq = int(q);
    } else {  // pass-through dims after the rotary part, two at a time
      a = 2u * q;
      b = a + 1u;
    }
  } else {
    const uint quarter = p.pairs;  // head_dim / 4
    stream = q < quarter ? 0u : 1u;
    const uint j = q - stream * quarter;
    a = stream * half_dim + j;
    b = a + quarter;
    freq = int(j);
  }
  const uint xb = p.x_off + t * p.x_stride + h * p.head_dim;
  const uint ob = p.o_off + t * p.o_stride + h * p.head_dim;
  const float x0 = float(x[xb + a]), x1 = float(x[xb + b]);
  if (freq < 0) {
    o[ob + a] = DATA(x0);
    o[ob + b] = DATA(x1);
    return;
  }
  const uint tb = p.table_off / 2u + uint(freq);
  vec2 cs;
  if (p.use_positions != 0u) {
    const uint r = uint(positions[(stream == 0u ? p.pos_off : p.block_pos_off) + t] - p.table_first);
    const vec2 hi = cos_sin[tb + (r >> 8u) * p.table_pairs], lo = cos_sin[tb + (p.fine_row0 + (r & 255u)) * p.table_pairs];
    cs = vec2(hi.x * lo.x - hi.y * lo.y, hi.y * lo.x + hi.x * lo.y);
  } else {
    cs = cos_sin[tb + stream * p.table_pairs];
  }
  o[ob + a] = DATA(x0 * cs.x - x1 * cs.y);
  o[ob + b] = DATA(x0 * cs.y + x1 * cs.x);
}
