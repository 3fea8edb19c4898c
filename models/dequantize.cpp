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
}  // namespace

bool can_dequantize(uint32_t type) { return GgmlType(type) == GgmlType::Q8_0 || GgmlType(type) == GgmlType::Q4_0; }

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
    default:
      throw Error("cannot dequantize tensor '" + t.name + "' of type " + ggml_type_name(t.type));
  }
}

}  // namespace vkllm
