#include "models/dequantize.h"

#include <cstring>
#include <string>

#include "host/half.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Q4_K's eight 6-bit (scale, min) pairs packed into 12 bytes: pairs 0-3 in the low 6 bits of
// bytes 0-3 / 4-7; pairs 4-7 take 4 bits from bytes 8-11 and their top 2 bits from the spare
// high bits of bytes 0-7.
void q4_k_scale_min(int j, const uint8_t* q, int& scale, int& min) {
  if (j < 4) {
    scale = q[j] & 63;
    min = q[j + 4] & 63;
  } else {
    scale = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
    min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

}  // namespace

bool can_dequantize(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
      return true;
    default:
      return false;
  }
}

const char* supported_types() { return "F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K and Q6_K"; }

std::vector<float> dequantize(const GgufTensor& t) {
  std::vector<float> out(static_cast<size_t>(t.elements()));
  const uint8_t* p = t.data;
  switch (GgmlType(t.type)) {
    case GgmlType::Q8_0:  // blocks of 32: f16 scale, 32 x int8
      for (size_t b = 0; b < out.size() / 32; ++b, p += 34) {
        const float d = half_at(p);
        for (int j = 0; j < 32; ++j) out[b * 32 + size_t(j)] = d * float(int8_t(p[2 + j]));
      }
      return out;
    case GgmlType::Q4_0:  // blocks of 32: f16 scale, 16 bytes: low nibbles are values 0..15, high 16..31
      for (size_t b = 0; b < out.size() / 32; ++b, p += 18) {
        const float d = half_at(p);
        for (int j = 0; j < 16; ++j) {
          out[b * 32 + size_t(j)] = d * float(int(p[2 + j] & 0xF) - 8);
          out[b * 32 + size_t(j) + 16] = d * float(int(p[2 + j] >> 4) - 8);
        }
      }
      return out;
    case GgmlType::Q4_K:  // super-blocks of 256: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins, 128 bytes of nibbles
      for (size_t b = 0; b < out.size() / 256; ++b, p += 144) {
        const float d = half_at(p), dmin = half_at(p + 2);
        const uint8_t* scales = p + 4;
        const uint8_t* q = p + 16;
        float* y = out.data() + b * 256;
        for (int chunk = 0; chunk < 4; ++chunk, q += 32, y += 64) {  // 64 values: low nibbles, then high
          int s0, m0, s1, m1;
          q4_k_scale_min(2 * chunk, scales, s0, m0);
          q4_k_scale_min(2 * chunk + 1, scales, s1, m1);
          for (int l = 0; l < 32; ++l) {
            y[l] = d * float(s0) * float(q[l] & 0xF) - dmin * float(m0);
            y[l + 32] = d * float(s1) * float(q[l] >> 4) - dmin * float(m1);
          }
        }
      }
      return out;
    case GgmlType::Q5_K:  // as Q4_K, with 32 bytes of fifth bits after the scales: bit s of byte l for sub-block s
      for (size_t b = 0; b < out.size() / 256; ++b, p += 176) {
        const float d = half_at(p), dmin = half_at(p + 2);
        const uint8_t* scales = p + 4;
        const uint8_t* qh = p + 16;
        const uint8_t* q = p + 48;
        float* y = out.data() + b * 256;
        for (int chunk = 0; chunk < 4; ++chunk, q += 32, y += 64) {
          int s0, m0, s1, m1;
          q4_k_scale_min(2 * chunk, scales, s0, m0);
          q4_k_scale_min(2 * chunk + 1, scales, s1, m1);
          for (int l = 0; l < 32; ++l) {
            const int h0 = (qh[l] >> (2 * chunk)) & 1, h1 = (qh[l] >> (2 * chunk + 1)) & 1;
            y[l] = d * float(s0) * float((q[l] & 0xF) | (h0 << 4)) - dmin * float(m0);
            y[l + 32] = d * float(s1) * float((q[l] >> 4) | (h1 << 4)) - dmin * float(m1);
          }
        }
      }
      return out;
    case GgmlType::Q6_K:  // super-blocks of 256: 128 bytes low nibbles, 64 bytes high 2 bits, 16 int8 scales, f16 d
      for (size_t b = 0; b < out.size() / 256; ++b, p += 210) {
        const uint8_t* ql = p;
        const uint8_t* qh = p + 128;
        const int8_t* sc = reinterpret_cast<const int8_t*>(p + 192);
        const float d = half_at(p + 208);
        float* y = out.data() + b * 256;
        for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
          for (int l = 0; l < 32; ++l) {
            const int is = l / 16;
            const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
            const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
            const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
            const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
            y[l] = d * float(sc[is]) * float(q1);
            y[l + 32] = d * float(sc[is + 2]) * float(q2);
            y[l + 64] = d * float(sc[is + 4]) * float(q3);
            y[l + 96] = d * float(sc[is + 6]) * float(q4);
          }
        }
      }
      return out;
    default:
      throw Error("cannot dequantize tensor '" + t.name + "' of type " + ggml_type_name(t.type));
  }
}

}  // namespace vkllm
