// Decoding of GGUF block formats as runtime/weight.h stores them (one of Q8_0, Q4_0, Q4_K,
// Q5_K, Q6_K defined): the blocks at binding 0, split-off f16 scales at binding 1, both read
// through fetch.glsl. decode() gives a sub-block of 32 weights as 32 small integers q and, per
// half of 16, w = a q + b.
#include "fetch.glsl"

DECLARE_FETCH(0, blocks)
DECLARE_FETCH(1, scales)
// Byte i (0..3) of a word, and bits of it.
uint byte_of(uint w, uint i) { return (w >> (8u * i)) & 0xFFu; }
vec4 nibbles(uint w, uint shift) { return vec4((uvec4(w) >> (uvec4(0u, 8u, 16u, 24u) + shift)) & 0xFu); }
vec4 bits2(uint w, uint shift) { return vec4((uvec4(w) >> (uvec4(0u, 8u, 16u, 24u) + shift)) & 3u); }
vec4 bit1(uint w, uint shift) { return vec4((uvec4(w) >> (uvec4(0u, 8u, 16u, 24u) + shift)) & 1u); }

struct SubBlock {
  vec4 q[8];  // weights 4c..4c+3 of the sub-block
  vec2 a, b;  // per half of 16: w = a q + b
};

// Sub-block sb (of 32 weights) of the row whose blocks start at texel `base` and scales at `sbase`.
SubBlock decode(uint base, uint sbase, uint sb) {
  SubBlock o;
#if defined(Q8_0)
  const uvec4 u0 = FETCH(blocks, base + 2u * sb), u1 = FETCH(blocks, base + 2u * sb + 1u);
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = vec4(ivec4(uvec4(u0[c]) << uvec4(24u, 16u, 8u, 0u)) >> 24);
    o.q[c + 4u] = vec4(ivec4(uvec4(u1[c]) << uvec4(24u, 16u, 8u, 0u)) >> 24);
  }
  o.a = vec2(FETCH_HALF(scales, sbase + sb));
  o.b = vec2(0.0);
#elif defined(Q4_0)
  const uvec4 u = FETCH(blocks, base + sb);  // low nibbles: weights 0..15, high: 16..31
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = nibbles(u[c], 0u);
    o.q[c + 4u] = nibbles(u[c], 4u);
  }
  o.a = vec2(FETCH_HALF(scales, sbase + sb));
  o.b = -8.0 * o.a;
#elif defined(Q4_K) || defined(Q5_K)
#if defined(Q4_K)
  const uint T = base + 9u * (sb >> 3u), QS = T + 1u;  // 144 bytes: header, 128 bytes of nibbles
#else
  const uint T = base + 11u * (sb >> 3u), QS = T + 3u;  // 176 bytes: header, 32 bytes of high bits, nibbles
#endif
  const uint s = sb & 7u;
  const uvec4 h = FETCH(blocks, T);  // f16 d, f16 dmin, 12 bytes of 6-bit scales and mins
  const uvec4 q0 = FETCH(blocks, QS + 2u * (s >> 1u)), q1 = FETCH(blocks, QS + 2u * (s >> 1u) + 1u);
  const uint shift = (s & 1u) * 4u;  // sub-blocks 2j and 2j + 1 share bytes: low, then high nibbles
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = nibbles(q0[c], shift);
    o.q[c + 4u] = nibbles(q1[c], shift);
  }
#if defined(Q5_K)
  const uvec4 h0 = FETCH(blocks, T + 1u), h1 = FETCH(blocks, T + 2u);  // bit s of byte l: weight l's fifth bit
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] += 16.0 * bit1(h0[c], s);
    o.q[c + 4u] += 16.0 * bit1(h1[c], s);
  }
#endif
  // The 6-bit scale and min of sub-block s (GGUF's get_scale_min_k4).
  const uint words[3] = {h.y, h.z, h.w};
  uint sc, mn;
  if (s < 4u) {
    sc = byte_of(words[s >> 2u], s & 3u) & 63u;
    mn = byte_of(words[(s + 4u) >> 2u], (s + 4u) & 3u) & 63u;
  } else {
    const uint hi = byte_of(words[2], s - 4u), lo_s = byte_of(words[0], s - 4u), lo_m = byte_of(words[1], s - 4u);
    sc = (hi & 0xFu) | ((lo_s >> 6u) << 4u);
    mn = (hi >> 4u) | ((lo_m >> 6u) << 4u);
  }
  const vec2 dm = unpackHalf2x16(h.x);
  o.a = vec2(dm.x * float(sc));
  o.b = vec2(-dm.y * float(mn));
#elif defined(Q6_K)
  // 208 bytes: ql (128: low nibbles), qh (64: two high bits each), 16 int8 scales; d apart.
  const uint T = base + 13u * (sb >> 3u), s = sb & 7u, half_ = s >> 2u, quarter = s & 3u;
  const uint ql = T + 4u * half_ + 2u * (quarter & 1u), qh = T + 8u + 2u * half_;
  const uvec4 l0 = FETCH(blocks, ql), l1 = FETCH(blocks, ql + 1u), h0 = FETCH(blocks, qh), h1 = FETCH(blocks, qh + 1u);
  const uint nshift = (quarter >> 1u) * 4u, hshift = 2u * quarter;
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = nibbles(l0[c], nshift) + 16.0 * bits2(h0[c], hshift);
    o.q[c + 4u] = nibbles(l1[c], nshift) + 16.0 * bits2(h1[c], hshift);
  }
  const uvec4 sc = FETCH(blocks, T + 12u);
  const uint i0 = 8u * half_ + 2u * quarter;  // scale of weights 0..15; i0 + 1 of 16..31
  const float d = FETCH_HALF(scales, sbase + (sb >> 3u));
  o.a = d * vec2(float(int(byte_of(sc[i0 >> 2u], i0 & 3u) << 24) >> 24),
                 float(int(byte_of(sc[(i0 + 1u) >> 2u], (i0 + 1u) & 3u) << 24) >> 24));
  o.b = -32.0 * o.a;
#else
#error "define Q8_0, Q4_0, Q4_K, Q5_K or Q6_K"
#endif
  return o;
}
