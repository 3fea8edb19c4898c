#include "host/quant.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "host/half.h"

namespace vkllm {

namespace {
void put_half(std::vector<uint8_t>& out, float v) {
  const uint16_t h = f32_to_f16(v);
  out.push_back(uint8_t(h & 0xff));
  out.push_back(uint8_t(h >> 8));
}

void require_blocks(std::span<const float> values, size_t n, const char* what) {
  if (values.size() % n) throw std::invalid_argument(std::string(what) + ": not a whole number of blocks");
}

// Q4_K / Q5_K with `levels` quant values (16 or 32): 144 or 176 bytes per 256 values.
std::vector<uint8_t> quantize_k_asymmetric(std::span<const float> values, int levels) {
  require_blocks(values, 256, levels == 16 ? "quantize_q4_k" : "quantize_q5_k");
  std::vector<uint8_t> out;
  for (size_t b = 0; b < values.size(); b += 256) {
    const float* x = values.data() + b;
    float scale[8], min[8], max_scale = 0, max_min = 0;
    for (int j = 0; j < 8; ++j) {  // w = scale q - min, q in 0..levels-1, covering [lo, hi] with lo <= 0
      float lo = 0, hi = 0;
      for (int l = 0; l < 32; ++l) lo = std::min(lo, x[32 * j + l]), hi = std::max(hi, x[32 * j + l]);
      scale[j] = (hi - lo) / float(levels - 1);
      min[j] = -lo;
      max_scale = std::max(max_scale, scale[j]);
      max_min = std::max(max_min, min[j]);
    }
    const float d = f16_to_f32(f32_to_f16(max_scale / 63.0f)), dmin = f16_to_f32(f32_to_f16(max_min / 63.0f));
    int sc[8], mn[8];
    for (int j = 0; j < 8; ++j) {
      sc[j] = d > 0 ? std::clamp(int(std::lround(scale[j] / d)), 0, 63) : 0;
      mn[j] = dmin > 0 ? std::clamp(int(std::lround(min[j] / dmin)), 0, 63) : 0;
    }
    put_half(out, d);
    put_half(out, dmin);
    uint8_t packed[12];  // pairs 0-3 in bytes 0-7's low 6 bits; 4-7 in bytes 8-11 plus 0-7's top bits
    for (int j = 0; j < 4; ++j) {
      packed[j] = uint8_t(sc[j] | ((sc[j + 4] >> 4) << 6));
      packed[j + 4] = uint8_t(mn[j] | ((mn[j + 4] >> 4) << 6));
      packed[j + 8] = uint8_t((sc[j + 4] & 0xF) | ((mn[j + 4] & 0xF) << 4));
    }
    out.insert(out.end(), packed, packed + 12);
    int q[256];
    for (int i = 0; i < 256; ++i) {
      const int j = i / 32;
      const float step = d * float(sc[j]);
      q[i] = step > 0 ? std::clamp(int(std::lround((x[i] + dmin * float(mn[j])) / step)), 0, levels - 1) : 0;
    }
    if (levels == 32)  // bit j of byte l: the fifth bit of value l of group j
      for (int l = 0; l < 32; ++l) {
        uint8_t high = 0;
        for (int j = 0; j < 8; ++j) high = uint8_t(high | ((q[32 * j + l] >> 4) << j));
        out.push_back(high);
      }
    for (int c = 0; c < 4; ++c)  // byte l of chunk c: value 64c+l low, 64c+32+l high
      for (int l = 0; l < 32; ++l) out.push_back(uint8_t((q[64 * c + l] & 0xF) | ((q[64 * c + 32 + l] & 0xF) << 4)));
  }
  return out;
}
}  // namespace

std::vector<uint8_t> quantize_q8_0(std::span<const float> values) {
  if (values.size() % 32) throw std::invalid_argument("quantize_q8_0: not a whole number of 32-value blocks");
  std::vector<uint8_t> blocks;
  blocks.reserve(values.size() / 32 * 34);
  for (size_t b = 0; b < values.size(); b += 32) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(values[b + j]));
    const float d = amax / 127.0f, inv = d > 0 ? 1.0f / d : 0.0f;
    const uint16_t dh = f32_to_f16(d);
    blocks.push_back(uint8_t(dh & 0xff));
    blocks.push_back(uint8_t(dh >> 8));
    for (size_t j = 0; j < 32; ++j)
      blocks.push_back(uint8_t(int8_t(std::clamp(int(std::lround(values[b + j] * inv)), -127, 127))));
  }
  return blocks;
}

std::vector<uint8_t> quantize_q4_0(std::span<const float> values) {
  require_blocks(values, 32, "quantize_q4_0");
  std::vector<uint8_t> out;
  out.reserve(values.size() / 32 * 18);
  for (size_t b = 0; b < values.size(); b += 32) {
    float extreme = 0;
    for (size_t j = 0; j < 32; ++j)
      if (std::fabs(values[b + j]) > std::fabs(extreme)) extreme = values[b + j];
    const float d = extreme / -8.0f, inv = d != 0 ? 1.0f / d : 0.0f;
    put_half(out, d);
    auto q = [&](size_t j) { return std::clamp(int(std::lround(values[b + j] * inv)) + 8, 0, 15); };
    for (size_t j = 0; j < 16; ++j) out.push_back(uint8_t(q(j) | (q(j + 16) << 4)));
  }
  return out;
}

std::vector<uint8_t> quantize_q4_k(std::span<const float> values) { return quantize_k_asymmetric(values, 16); }
std::vector<uint8_t> quantize_q5_k(std::span<const float> values) { return quantize_k_asymmetric(values, 32); }

std::vector<uint8_t> quantize_q6_k(std::span<const float> values) {
  require_blocks(values, 256, "quantize_q6_k");
  std::vector<uint8_t> out;
  out.reserve(values.size() / 256 * 210);
  for (size_t b = 0; b < values.size(); b += 256) {
    const float* x = values.data() + b;
    float scale[16], largest = 0;
    for (int s = 0; s < 16; ++s) {  // w = scale (q - 32), q in 0..63: the extreme value maps to -32
      float extreme = 0;
      for (int l = 0; l < 16; ++l)
        if (std::fabs(x[16 * s + l]) > std::fabs(extreme)) extreme = x[16 * s + l];
      scale[s] = extreme / -32.0f;
      largest = std::max(largest, std::fabs(scale[s]));
    }
    const float d = f16_to_f32(f32_to_f16(largest / 127.0f));
    int8_t sc[16];
    int q[256];
    for (int s = 0; s < 16; ++s) sc[s] = int8_t(d > 0 ? std::clamp(int(std::lround(scale[s] / d)), -127, 127) : 0);
    for (int i = 0; i < 256; ++i) {
      const float step = d * float(sc[i / 16]);
      q[i] = step != 0 ? std::clamp(int(std::lround(x[i] / step)) + 32, 0, 63) : 32;
    }
    uint8_t ql[128], qh[64];
    for (int h = 0; h < 2; ++h)  // per half of 128: ql byte l holds l / l+64, byte 32+l holds 32+l / 96+l
      for (int l = 0; l < 32; ++l) {
        const int* v = q + 128 * h;
        ql[64 * h + l] = uint8_t((v[l] & 0xF) | ((v[l + 64] & 0xF) << 4));
        ql[64 * h + l + 32] = uint8_t((v[l + 32] & 0xF) | ((v[l + 96] & 0xF) << 4));
        qh[32 * h + l] = uint8_t((v[l] >> 4) | ((v[l + 32] >> 4) << 2) | ((v[l + 64] >> 4) << 4) | ((v[l + 96] >> 4) << 6));
      }
    out.insert(out.end(), ql, ql + 128);
    out.insert(out.end(), qh, qh + 64);
    for (int8_t s : sc) out.push_back(uint8_t(s));
    put_half(out, d);
  }
  return out;
}

}  // namespace vkllm
