// Decoding of block rows (DType::Q8_0 and Q4_0; layout in runtime/tensor.h) held in uint
// buffers: Q8_0_LOAD(BUF, ROW, E) is value E of the row starting at word ROW, Q8_0_LOAD4 values
// E..E+3 (E % 4 == 0), Q8_0_QUANTS4 and Q8_0_SCALE their quants and scale; the same for Q4_0. ROW_VALUES, the values per row, must be defined where
// they are used: the scales follow the quants.
// Value e of a Q8_0 quant word (byte e % 4, signed) and all four; of a Q4_0 word (nibble
// e % 8, offset by 8) and values e..e+3; the scale of e's block from its scale word.
float q8_value(uint w, uint e) { return float(int(w << (24u - 8u * (e & 3u))) >> 24); }
vec4 q8_values4(uint w) { return vec4(ivec4(uvec4(w) << uvec4(24u, 16u, 8u, 0u)) >> 24); }
float q4_value(uint w, uint e) { return float((w >> (4u * (e & 7u))) & 15u) - 8.0; }
vec4 q4_values4(uint w, uint e) { return vec4((uvec4(w >> (4u * (e & 4u))) >> uvec4(0u, 4u, 8u, 12u)) & 15u) - 8.0; }
float block_scale(uint w, uint e) {
  const vec2 s = unpackHalf2x16(w);
  return ((e >> 5u) & 1u) != 0u ? s.y : s.x;
}
#define Q8_0_SCALE(BUF, ROW, E) block_scale(BUF[(ROW) + ROW_VALUES / 4u + ((E) >> 6u)], E)
#define Q4_0_SCALE(BUF, ROW, E) block_scale(BUF[(ROW) + ROW_VALUES / 8u + ((E) >> 6u)], E)
// The quants alone (QUANTS4), for loops that apply a block's scale once.
#define Q8_0_QUANTS4(BUF, ROW, E) q8_values4(BUF[(ROW) + ((E) >> 2u)])
#define Q4_0_QUANTS4(BUF, ROW, E) q4_values4(BUF[(ROW) + ((E) >> 3u)], E)
#define Q8_0_LOAD(BUF, ROW, E) (q8_value(BUF[(ROW) + ((E) >> 2u)], E) * Q8_0_SCALE(BUF, ROW, E))
#define Q8_0_LOAD4(BUF, ROW, E) (Q8_0_QUANTS4(BUF, ROW, E) * Q8_0_SCALE(BUF, ROW, E))
#define Q4_0_LOAD(BUF, ROW, E) (q4_value(BUF[(ROW) + ((E) >> 3u)], E) * Q4_0_SCALE(BUF, ROW, E))
#define Q4_0_LOAD4(BUF, ROW, E) (Q4_0_QUANTS4(BUF, ROW, E) * Q4_0_SCALE(BUF, ROW, E))

