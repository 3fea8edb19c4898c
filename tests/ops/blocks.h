#pragma once
// Random weights in each GGUF block format, and the values they represent (the host
// dequantizer, whose layouts test_dequantize.cpp checks against the formats' definitions).
#include <cstdint>
#include <vector>

#include "host/reference/reference.h"
#include "models/gguf.h"
#include "runtime/weight.h"

namespace vkllm::test {

struct BlockFormatCase {
  WeightFormat format;
  GgmlType type;
  std::vector<int> scale_bytes;  // offsets of the block's f16 scale fields
  float largest_product;         // largest |scale x quant| before the f16 scale
};
const std::vector<BlockFormatCase>& block_format_cases();

// Every quant, scale and min byte random; f16 scales chosen so that a row's dot product with a
// unit-variance x is O(1).
std::vector<uint8_t> random_blocks(const BlockFormatCase& f, int64_t rows, int64_t cols, uint32_t seed);
ref::Mat dequantized(const BlockFormatCase& f, const std::vector<uint8_t>& blocks, int64_t rows, int64_t cols);

// got = x . w^T as a block-format product computes it: within 1e-4 * (1 + |want|) of the
// reference, or with int_dot (the integer dot-product path) of the reference on x quantized
// to 8-bit blocks as the device does it.
void check_block_product(const ref::Mat& got, const ref::Mat& w, const ref::Mat& x, bool int_dot);

}  // namespace vkllm::test
