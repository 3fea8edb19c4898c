// Block formats dequantized on load: values are exact (scale times quant); unknown types refuse.
#include <cstring>

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

TEST_CASE("types without a dequantizer are refused by name") {
  CHECK_FALSE(can_dequantize(uint32_t(GgmlType::Q4_K)));
  std::vector<uint8_t> b(144);
  CHECK_THROWS_WITH_AS(dequantize(tensor_of(GgmlType::Q4_K, 256, b)), doctest::Contains("type Q4_K"), Error);
}
