// Decoding of GGUF block formats as runtime/weight.h stores them (one of Q8_0, Q4_0, Q4_K,
// Q5_K, Q6_K defined): the blocks at binding 0, split-off f16 scales at binding 1, both read
// through fetch.glsl. decode_packed() gives a sub-block of 32 weights as 32 small integers q
// packed in bytes (for integer dot products) and, per half of 16, w = a q + b; decode() the
// same with q as floats.
#include "fetch.glsl"

DECLARE_FETCH(0, blocks)
DECLARE_FETCH(1, scales)
// Byte i (0..3) of a word.
uint byte_of(uint w, uint i) { return (w >> (8u * i)) & 0xFFu; }

// A sub-block of 32 weights as small integers, four to a word as signed bytes: word c holds
// weights 4c..4c+3 (words 0..3: the first half of 16, 4..7: the second), and per half
// w = a q + b. Q8_0's quants are -128..127; the others' 0..63.
struct PackedSubBlock {
  uint q[8];
  vec2 a, b;
};

// Sub-block sb (of 32 weights) of the row whose blocks start at texel `base` and scales at `sbase`.
PackedSubBlock decode_packed(uint base, uint sbase, uint sb) {
  PackedSubBlock o;
#if defined(Q8_0)
  const uvec4 u0 = FETCH(blocks, base + 2u * sb), u1 = FETCH(blocks, base + 2u * sb + 1u);
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = u0[c];
    o.q[c + 4u] = u1[c];
  }
  o.a = vec2(FETCH_HALF(scales, sbase + sb));
  o.b = vec2(0.0);
#elif defined(Q4_0)
  const uvec4 u = FETCH(blocks, base + sb);  // low nibbles: weights 0..15, high: 16..31
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] = u[c] & 0x0F0F0F0Fu;
    o.q[c + 4u] = (u[c] >> 4u) & 0x0F0F0F0Fu;
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
    o.q[c] = (q0[c] >> shift) & 0x0F0F0F0Fu;
    o.q[c + 4u] = (q1[c] >> shift) & 0x0F0F0F0Fu;
  }
#if defined(Q5_K)
  const uvec4 h0 = FETCH(blocks, T + 1u), h1 = FETCH(blocks, T + 2u);  // bit s of byte l: weight l's fifth bit
  [[unroll]] for (uint c = 0u; c < 4u; ++c) {
    o.q[c] |= ((h0[c] >> s) & 0x01010101u) << 4u;
    o.q[c + 4u] |= ((h1[c] >> s) & 0x01010101u) << 4u;
  }
#endif
  // The 6-bit scale and min of sub-block s (GGUF's get_scale_min_k4): bytes 0..3 hold scales
  // 0..3 (and the top bits of 4..7), bytes 4..7 mins 0..3 (and top bits), bytes 8..11 the low
  // nibbles of scales and mins 4..7. Selects, not branches: lanes take different sub-blocks.
  const uint j = s & 3u, lo_s = byte_of(h.y, j), lo_m = byte_of(h.z, j), hi = byte_of(h.w, j);
  const uint sc = s < 4u ? lo_s & 63u : (hi & 0xFu) | ((lo_s >> 6u) << 4u);
  const uint mn = s < 4u ? lo_m & 63u : (hi >> 4u) | ((lo_m >> 6u) << 4u);
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
    o.q[c] = ((l0[c] >> nshift) & 0x0F0F0F0Fu) | (((h0[c] >> hshift) & 0x03030303u) << 4u);
    o.q[c + 4u] = ((l1[c] >> nshift) & 0x0F0F0F0Fu) | (((h1[c] >> hshift) & 0x03030303u) << 4u);
  }
  // Scale i0 covers weights 0..15, i0 + 1 weights 16..31: bytes 2k, 2k + 1 of one word.
  const uint i0 = 8u * half_ + 2u * quarter, sw = component(FETCH(blocks, T + 12u), i0 >> 2u), at = 8u * (i0 & 3u);
  const float d = FETCH_HALF(scales, sbase + (sb >> 3u));
  o.a = d * vec2(float(int(sw << (24u - at)) >> 24), float(int(sw << (16u - at)) >> 24));
  o.b = -32.0 * o.a;
#else
#error "define Q8_0, Q4_0, Q4_K, Q5_K or Q6_K"
#endif
  return o;
}

struct SubBlock {
  vec4 q[8];  // weights 4c..4c+3 of the sub-block
  vec2 a, b;  // per half of 16: w = a q + b
};

// The same sub-block with its quants as floats.
SubBlock decode(uint base, uint sbase, uint sb) {
  const PackedSubBlock p = decode_packed(base, sbase, sb);
  SubBlock o;
  [[unroll]] for (uint c = 0u; c < 8u; ++c) o.q[c] = vec4(ivec4(uvec4(p.q[c]) << uvec4(24u, 16u, 8u, 0u)) >> 24);
  o.a = p.a;
  o.b = p.b;
  return o;
}
