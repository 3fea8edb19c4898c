// Block-quantized KV rows (DType::Q8_0, Q4_0; layout in runtime/tensor.h) from GGUF's blocks.
#include <cstring>

#include "host/half.h"
#include "host/quant.h"
#include "host/reference/reference.h"
#include "runtime/error.h"

namespace vkllm::ref {

std::vector<uint32_t> quantize_rows(DType t, const Mat& x) {
  require(block_rows(t), std::string("quantize_rows: ") + dtype_name(t) + " is not a block type");
  const int64_t units = row_units(t, x.cols), quant_words = t == DType::Q8_0 ? x.cols / 4 : x.cols / 8;
  const size_t block_bytes = t == DType::Q8_0 ? 34 : 18;
  std::vector<uint32_t> out(size_t(x.rows * units), 0u);
  for (int64_t r = 0; r < x.rows; ++r) {
    const std::span<const float> row(x.v.data() + r * x.cols, size_t(x.cols));
    const std::vector<uint8_t> blocks = t == DType::Q8_0 ? quantize_q8_0(row) : quantize_q4_0(row);
    uint32_t* words = out.data() + r * units;
    uint8_t* quants = reinterpret_cast<uint8_t*>(words);
    for (int64_t b = 0; b < x.cols / 32; ++b) {
      const uint8_t* block = blocks.data() + size_t(b) * block_bytes;
      const uint32_t scale = uint32_t(block[0]) | uint32_t(block[1]) << 8;
      words[quant_words + b / 2] |= scale << (16 * (b % 2));
      for (int j = 0; j < 32; ++j) {
        const int64_t e = 32 * b + j;
        if (t == DType::Q8_0) {
          quants[e] = block[2 + j];
        } else {  // GGUF packs values j and j + 16 in byte j; rows pack values in order
          const uint8_t q = j < 16 ? block[2 + j] & 0xF : block[2 + j - 16] >> 4;
          quants[e / 2] |= uint8_t(q << (4 * (e % 2)));
        }
      }
    }
  }
  return out;
}

Mat dequantize_rows(DType t, std::span<const uint32_t> words, int64_t rows, int64_t cols) {
  require(block_rows(t), std::string("dequantize_rows: ") + dtype_name(t) + " is not a block type");
  const int64_t units = row_units(t, cols), quant_words = t == DType::Q8_0 ? cols / 4 : cols / 8;
  require(int64_t(words.size()) == rows * units, "dequantize_rows: the words are not that many rows");
  Mat out(rows, cols);
  for (int64_t r = 0; r < rows; ++r) {
    const uint32_t* row = words.data() + r * units;
    for (int64_t e = 0; e < cols; ++e) {
      const float d = f16_to_f32(uint16_t(row[quant_words + e / 64] >> (16 * ((e / 32) % 2))));
      const uint32_t w = row[t == DType::Q8_0 ? e / 4 : e / 8];
      const int q = t == DType::Q8_0 ? int(int8_t(uint8_t(w >> (8 * (e % 4))))) : int((w >> (4 * (e % 8))) & 0xF) - 8;
      out.at(r, e) = float(q) * d;
    }
  }
  return out;
}

}  // namespace vkllm::ref
