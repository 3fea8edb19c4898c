#version 450
// out[i] = table[ids[i]]: embedding lookup. The table may be one chunk of a larger table
// holding rows [t_row0, t_row0 + t_rows); ids outside it are left to the other chunks' dispatches.
#include "common.glsl"
#define W_BINDING 0
#include "weights.glsl"

layout(set = 0, binding = 1) readonly buffer Ids { uint ids[]; };
layout(set = 0, binding = 2) writeonly buffer O { float o[]; };
layout(push_constant) uniform Push {
  uint n_ids, cols, t_off, t_stride, t_row0, t_rows, id_off, o_off, o_stride;
} p;

void main() {
  const uint i = linear_invocation();
  if (i >= p.n_ids * p.cols) return;
  const uint r = i / p.cols, c = i - r * p.cols;
  const uint id = ids[p.id_off + r];
  if (id < p.t_row0 || id - p.t_row0 >= p.t_rows) return;
  o[p.o_off + r * p.o_stride + c] = load_w(p.t_off + (id - p.t_row0) * p.t_stride + c);
}
