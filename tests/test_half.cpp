// Host fp16 conversion: exact round trips, ties to even, subnormals, overflow; and the GPU's
// f32 -> f16 conversion gives the same bits.
#include <cmath>
#include <cstring>

#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

TEST_CASE("every f16 value survives f16 -> f32 -> f16") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const bool nan = (h & 0x7c00u) == 0x7c00u && (h & 0x3ffu);
    if (!nan) REQUIRE(f32_to_f16(f16_to_f32(uint16_t(h))) == h);
  }
  CHECK(f16_to_f32(0x0001) == std::ldexp(1.0f, -24));  // smallest subnormal
  CHECK(f16_to_f32(0x7bff) == 65504.0f);
}

TEST_CASE("f32 -> f16 rounds to nearest, ties to even") {
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3c00);  // tie between 0x3c00 and 0x3c01: even
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3c02);  // tie between 0x3c01 and 0x3c02: even
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);  // tie between 0 and the smallest subnormal
  CHECK(f32_to_f16(std::ldexp(1.5f, -25)) == 0x0001);
  CHECK(f32_to_f16(65519.0f) == 0x7bff);
  CHECK(f32_to_f16(65520.0f) == 0x7c00);  // overflow to infinity
  CHECK(f32_to_f16(-INFINITY) == 0xfc00);
  CHECK((f32_to_f16(NAN) & 0x7c00) == 0x7c00);
}

TEST_CASE_FIXTURE(GpuTest, "the GPU converts f32 to f16 with the same bits as the host") {
  Device& d = gpu();
  if (!d.caps().f16_storage) {
    MESSAGE("skipped: f16 writes need 16-bit storage");
    return;
  }
  ref::Mat m = random_mat(64, 256, 3, -2, 2);
  for (int i = 0; i < 64; ++i) m.v[size_t(i)] = std::ldexp(1.0f + float(2 * i + 1) * std::ldexp(1.0f, -11), -(i % 20));  // ties
  Tensor src = to_device(d, m), dst = d.tensor(DType::F16, 64, 256);
  Graph g(d);
  ops::copy_rows(g, src, dst, 0);
  g.run();
  CHECK(d.download<uint16_t>(dst) == to_f16(m.v));
}
