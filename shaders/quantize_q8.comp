#version 450
// Activations to 8-bit blocks for the integer dot-product kernels (INT_DOT in
// matvec_blocks.comp): each block of 32 floats becomes d = max|x| / 127, q = roundEven(x / d)
// packed four to a word (8 words), then a texel (d, d sum q[0..15], d sum q[16..31], 0): 12
// words per block, so a block is three 16-byte reads. One invocation per block.
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer X { vec4 x[]; };
layout(set = 0, binding = 1) writeonly buffer Q { uvec4 xq[]; };
layout(push_constant) uniform Push {
  uint n, blocks, x_off, x_stride, q_off, q_stride;
} p;  // x_*: in floats (multiples of 4); q_*: in 16-byte units

void main() {
  const uint i = linear_invocation();
  if (i >= p.n * p.blocks) return;
  const uint row = i / p.blocks, b = i - row * p.blocks;
  const uint src = (p.x_off + row * p.x_stride) / 4u + 8u * b;
  vec4 v[8];
  float amax = 0.0;
  [[unroll]] for (uint c = 0u; c < 8u; ++c) {
    v[c] = x[src + c];
    amax = max(amax, max(max(abs(v[c].x), abs(v[c].y)), max(abs(v[c].z), abs(v[c].w))));
  }
  const float d = amax / 127.0, id = d > 0.0 ? 1.0 / d : 0.0;
  uint words[8];
  ivec2 sums = ivec2(0);
  [[unroll]] for (uint c = 0u; c < 8u; ++c) {
    const ivec4 q = clamp(ivec4(roundEven(v[c] * id)), ivec4(-127), ivec4(127));
    sums[c >> 2u] += q.x + q.y + q.z + q.w;
    words[c] = uint(q.x & 0xFF) | (uint(q.y & 0xFF) << 8u) | (uint(q.z & 0xFF) << 16u) | (uint(q.w & 0xFF) << 24u);
  }
  const uint dst = p.q_off + row * p.q_stride + 3u * b;
  xq[dst] = uvec4(words[0], words[1], words[2], words[3]);
  xq[dst + 1u] = uvec4(words[4], words[5], words[6], words[7]);
  xq[dst + 2u] = uvec4(floatBitsToUint(d), floatBitsToUint(d * float(sums.x)), floatBitsToUint(d * float(sums.y)), 0u);
}
