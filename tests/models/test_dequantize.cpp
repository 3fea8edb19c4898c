// Block formats as the host reads them (the reference of the native kernels, and embeddings):
// values are exact (scale times quant); unknown types refuse.
#include <cmath>
#include <cstring>
#include <random>

#include "host/quant.h"
#include "models/dequantize.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
GgufTensor tensor_of(GgmlType type, uint64_t elements, const std::vector<uint8_t>& bytes) {
  return GgufTensor{.name = std::string("w"), .dims = {elements}, .type = uint32_t(type), .offset = 0, .bytes = bytes.size(), .data = bytes.data()};
}
void put_half(std::vector<uint8_t>& b, float v) {
  const uint16_t h = f32_to_f16(v);
  b.push_back(uint8_t(h & 0xff));
  b.push_back(uint8_t(h >> 8));
}
// The K-quants' eight 6-bit (scale, min) pairs in 12 bytes, as the format defines them: pairs
// 0-3 in the low 6 bits of bytes 0-3 (scales) and 4-7 (mins); pairs 4-7 with their low 4 bits
// in bytes 8-11 (scale low, min high) and their top 2 bits in the top bits of bytes 0-7.
void pack_k_scales(const int scale[8], const int min[8], uint8_t packed[12]) {
  for (int j = 0; j < 4; ++j) {
    packed[j] = uint8_t(scale[j] | ((scale[j + 4] >> 4) << 6));
    packed[j + 4] = uint8_t(min[j] | ((min[j + 4] >> 4) << 6));
    packed[j + 8] = uint8_t((scale[j + 4] & 0xF) | ((min[j + 4] & 0xF) << 4));
  }
}
}  // namespace

TEST_CASE("Q8_0 blocks dequantize to scale x int8") {
  std::vector<uint8_t> b;
  for (float d : {0.5f, -0.125f}) {
    put_half(b, d);
    for (int j = 0; j < 32; ++j) b.push_back(uint8_t(int8_t(j * 8 - 128)));
  }
  auto v = dequantize(tensor_of(GgmlType::Q8_0, 64, b));
  REQUIRE(v.size() == 64);
  CHECK(v[0] == 0.5f * -128);
  CHECK(v[31] == 0.5f * 120);
  CHECK(v[32] == -0.125f * -128);
  CHECK(v[63] == -0.125f * 120);
}

TEST_CASE("Q4_0 blocks dequantize low nibbles to the first half and high nibbles to the second") {
  std::vector<uint8_t> b;
  put_half(b, 2.0f);
  for (int j = 0; j < 16; ++j) b.push_back(uint8_t(j | ((15 - j) << 4)));
  auto v = dequantize(tensor_of(GgmlType::Q4_0, 32, b));
  for (int j = 0; j < 16; ++j) {
    CHECK(v[size_t(j)] == 2.0f * float(j - 8));
    CHECK(v[size_t(j) + 16] == 2.0f * float(15 - j - 8));
  }
}

// Q4_K: value i of 32-value group j is d * scale_j * q - dmin * min_j with 6-bit scale/min
// pairs; groups 4-7 need the high bits packed into bytes 0-7. The block is written from that
// description so the test checks the layout, not a copy of the decoder.
TEST_CASE("Q4_K super-blocks dequantize with 6-bit group scales and mins") {
  int scale[8], min[8];
  for (int j = 0; j < 8; ++j) scale[j] = 3 + 7 * j, min[j] = 60 - 5 * j;  // groups 4-7 use values >= 16
  uint8_t packed[12];
  pack_k_scales(scale, min, packed);
  auto quant = [](int i) { return (i * 7 + 3) & 0xF; };  // value i of the super-block
  std::vector<uint8_t> b;
  put_half(b, 0.25f);
  put_half(b, 0.5f);
  b.insert(b.end(), packed, packed + 12);
  for (int chunk = 0; chunk < 4; ++chunk)  // each byte: value 64c+l in the low nibble, 64c+32+l in the high
    for (int l = 0; l < 32; ++l) b.push_back(uint8_t(quant(64 * chunk + l) | (quant(64 * chunk + 32 + l) << 4)));
  REQUIRE(b.size() == 144);
  auto v = dequantize(tensor_of(GgmlType::Q4_K, 256, b));
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32;
    CAPTURE(i);
    CHECK(v[size_t(i)] == doctest::Approx(0.25f * float(scale[j] * quant(i)) - 0.5f * float(min[j])));
  }
}

// Q6_K: value i is d * scale[i / 16] * (q - 32) with 6-bit q split into a low nibble and two
// high bits; within each 128-value half, ql byte l holds values l (low) and l+64 (high nibble),
// ql byte 32+l values 32+l and 96+l, and qh byte l the high bits of l, 32+l, 64+l, 96+l.
TEST_CASE("Q6_K super-blocks dequantize with 16 int8 scales") {
  auto quant = [](int i) { return (i * 37 + 11) & 63; };
  std::vector<uint8_t> ql(128), qh(64);
  for (int h = 0; h < 2; ++h)
    for (int l = 0; l < 32; ++l) {
      const int base = 128 * h;
      const int q[4] = {quant(base + l), quant(base + l + 32), quant(base + l + 64), quant(base + l + 96)};
      ql[size_t(64 * h + l)] = uint8_t((q[0] & 0xF) | ((q[2] & 0xF) << 4));
      ql[size_t(64 * h + l + 32)] = uint8_t((q[1] & 0xF) | ((q[3] & 0xF) << 4));
      qh[size_t(32 * h + l)] = uint8_t((q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6));
    }
  std::vector<uint8_t> b(ql);
  b.insert(b.end(), qh.begin(), qh.end());
  for (int s = 0; s < 16; ++s) b.push_back(uint8_t(int8_t(s * 9 - 70)));
  put_half(b, 0.125f);
  REQUIRE(b.size() == 210);
  auto v = dequantize(tensor_of(GgmlType::Q6_K, 256, b));
  for (int i = 0; i < 256; ++i) {
    CAPTURE(i);
    CHECK(v[size_t(i)] == 0.125f * float((i / 16) * 9 - 70) * float(quant(i) - 32));
  }
}

// Q5_K: Q4_K's scales and nibbles (after 32 bytes of fifth bits) with bit j of byte l the fifth
// bit of value l of group j: values reach 31.
TEST_CASE("Q5_K super-blocks dequantize with Q4_K scales and a fifth bit per value") {
  int scale[8], min[8];
  for (int j = 0; j < 8; ++j) scale[j] = 5 + 7 * j, min[j] = 61 - 6 * j;
  uint8_t packed[12];
  pack_k_scales(scale, min, packed);
  auto quant = [](int i) { return (i * 13 + 5) & 31; };
  std::vector<uint8_t> b;
  put_half(b, 0.25f);
  put_half(b, 0.5f);
  b.insert(b.end(), packed, packed + 12);
  for (int l = 0; l < 32; ++l) {
    uint8_t high = 0;
    for (int j = 0; j < 8; ++j) high = uint8_t(high | ((quant(32 * j + l) >> 4) << j));
    b.push_back(high);
  }
  for (int chunk = 0; chunk < 4; ++chunk)
    for (int l = 0; l < 32; ++l) b.push_back(uint8_t((quant(64 * chunk + l) & 0xF) | ((quant(64 * chunk + 32 + l) & 0xF) << 4)));
  REQUIRE(b.size() == 176);
  auto v = dequantize(tensor_of(GgmlType::Q5_K, 256, b));
  for (int i = 0; i < 256; ++i) {
    const int j = i / 32;
    CAPTURE(i);
    CHECK(v[size_t(i)] == doctest::Approx(0.25f * float(scale[j] * quant(i)) - 0.5f * float(min[j])));
  }
}

TEST_CASE("types without a dequantizer are refused by name") {
  CHECK_FALSE(can_dequantize(uint32_t(GgmlType::Q3_K)));
  std::vector<uint8_t> b(110);
  CHECK_THROWS_WITH_AS(dequantize(tensor_of(GgmlType::Q3_K, 256, b)), doctest::Contains("type Q3_K"), Error);
}

// The host quantizers (make-model's) round-trip through the format's definition with the error
// their bits allow, fewer bits more error.
TEST_CASE("quantizers give blocks that dequantize close to their input, by bits") {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(256 * 64);
  for (auto& x : v) x = normal(rng);
  struct Case {
    GgmlType type;
    std::vector<uint8_t> (*quantize)(std::span<const float>);
    double bound;
  };
  double previous = 0;
  for (const Case& c : {Case{GgmlType::Q8_0, quantize_q8_0, 0.01}, Case{GgmlType::Q6_K, quantize_q6_k, 0.03},
                        Case{GgmlType::Q5_K, quantize_q5_k, 0.06}, Case{GgmlType::Q4_K, quantize_q4_k, 0.12},
                        Case{GgmlType::Q4_0, quantize_q4_0, 0.15}}) {
    CAPTURE(ggml_type_name(uint32_t(c.type)));
    const auto blocks = c.quantize(v);
    const auto back = dequantize(tensor_of(c.type, v.size(), blocks));
    double err = 0, norm = 0;
    for (size_t i = 0; i < v.size(); ++i) err += (back[i] - v[i]) * (back[i] - v[i]), norm += v[i] * v[i];
    const double relative = std::sqrt(err / norm);
    CHECK(relative < c.bound);
    CHECK(relative > previous);
    previous = relative;
  }
}
