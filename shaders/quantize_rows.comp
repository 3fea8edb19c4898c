#version 450
// f32 rows to block rows (Q8_0 defined: DType::Q8_0, else Q4_0; layout in runtime/tensor.h),
// rounded as GGUF's q8_0 and q4_0 are: per block of 32 values, Q8_0 takes d = max|x| / 127 and
// q = round(x / d); Q4_0 d = (the value of largest magnitude) / -8 and q = round(x / d) + 8 in
// 0..15; rounding half away from zero, the scale stored as f16. One invocation per two blocks,
// which share a scale word. Same push block and row rules as copy_rows.comp, cols counting
// values (a multiple of 32).
#include "common.glsl"

layout(set = 0, binding = 0) readonly buffer S { float src[]; };
layout(set = 0, binding = 1) writeonly buffer D { uint dst[]; };
layout(set = 0, binding = 2) readonly buffer I { int indices[]; };
layout(push_constant) uniform Push {
  uint n_rows, cols, src_off, src_stride, src_row0, src_rows, dst_off, dst_stride, dst_row0, idx_off, use_indices;
} p;

int round_away(float x) { return int(sign(x) * floor(abs(x) + 0.5)); }

void main() {
  const uint blocks = p.cols / 32u, pairs = (blocks + 1u) / 2u;
  const uint i = linear_invocation();
  if (i >= p.n_rows * pairs) return;
  const uint r = i / pairs, pair = i - r * pairs;
  const uint s = p.use_indices != 0u ? uint(indices[p.idx_off + r]) : r;
  if (s < p.src_row0 || s - p.src_row0 >= p.src_rows) return;
  const uint from = p.src_off + (s - p.src_row0) * p.src_stride;
  const uint to = p.dst_off + (param(p.dst_row0) + r) * p.dst_stride;
#ifdef Q8_0
  const uint quant_words = p.cols / 4u;
#else
  const uint quant_words = p.cols / 8u;
#endif
  vec2 scales = vec2(0.0);
  [[unroll]] for (uint k = 0u; k < 2u; ++k) {
    const uint b = 2u * pair + k;
    if (b >= blocks) break;
    float x[32];
    float extreme = 0.0;  // the value of largest magnitude, the first of equals as GGUF takes it
    [[unroll]] for (uint j = 0u; j < 32u; ++j) {
      x[j] = src[from + 32u * b + j];
      if (abs(x[j]) > abs(extreme)) extreme = x[j];
    }
#ifdef Q8_0
    const float d = abs(extreme) / 127.0, id = d > 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint w = 0u; w < 8u; ++w) {
      uint word = 0u;
      [[unroll]] for (uint c = 0u; c < 4u; ++c) word |= (uint(clamp(round_away(x[4u * w + c] * id), -127, 127)) & 0xFFu) << (8u * c);
      dst[to + 8u * b + w] = word;
    }
#else
    const float d = extreme / -8.0, id = d != 0.0 ? 1.0 / d : 0.0;
    [[unroll]] for (uint w = 0u; w < 4u; ++w) {
      uint word = 0u;
      [[unroll]] for (uint c = 0u; c < 8u; ++c) word |= uint(clamp(round_away(x[8u * w + c] * id) + 8, 0, 15)) << (4u * c);
      dst[to + 4u * b + w] = word;
    }
#endif
    scales[k] = d;
  }
  dst[to + quant_words + pair] = packHalf2x16(scales);
}
