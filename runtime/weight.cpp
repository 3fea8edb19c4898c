#include "runtime/weight.h"

#include <cstring>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::Plain: return "plain";
    case WeightFormat::Q8_0: return "Q8_0";
    case WeightFormat::Q4_0: return "Q4_0";
    case WeightFormat::Q4_K: return "Q4_K";
    case WeightFormat::Q5_K: return "Q5_K";
    case WeightFormat::Q6_K: return "Q6_K";
  }
  return "?";
}

BlockLayout block_layout(WeightFormat f) {
  switch (f) {
    case WeightFormat::Q8_0: return {32, 34, 8, true};
    case WeightFormat::Q4_0: return {32, 18, 4, true};
    case WeightFormat::Q4_K: return {256, 144, 36, false};
    case WeightFormat::Q5_K: return {256, 176, 44, false};
    case WeightFormat::Q6_K: return {256, 210, 52, true};
    case WeightFormat::Plain: break;
  }
  throw Error("block_layout: not a block format");
}

Weight Weight::from_blocks(Device& d, WeightFormat format, int64_t rows, int64_t cols, std::span<const uint8_t> blocks,
                           std::string_view name) {
  const BlockLayout l = block_layout(format);
  const std::string what = std::string(weight_format_name(format)) + " weight '" + std::string(name) + "'";
  if (cols % l.values != 0) throw Error(what + ": columns must be whole blocks of " + std::to_string(l.values));
  const int64_t per_row = cols / l.values, n = rows * per_row;
  if (int64_t(blocks.size()) != n * l.file_bytes)
    throw Error(what + ": " + std::to_string(blocks.size()) + " bytes for " + std::to_string(rows) + " x " + std::to_string(cols));
  // Where each block's f16 scale sits in the file, and where its words start.
  const int64_t scale_at = format == WeightFormat::Q6_K ? 208 : 0, body_at = format == WeightFormat::Q6_K ? 0 : 2;
  std::vector<uint8_t> body(size_t(n * l.words * 4));
  std::vector<uint16_t> scales(l.split_scale ? size_t(n) : 0);
  for (int64_t b = 0; b < n; ++b) {
    const uint8_t* block = blocks.data() + b * l.file_bytes;
    if (l.split_scale) {
      std::memcpy(&scales[size_t(b)], block + scale_at, 2);
      std::memcpy(body.data() + b * l.words * 4, block + body_at, size_t(l.words * 4));
    } else {
      std::memcpy(body.data() + b * l.words * 4, block, size_t(l.words * 4));
    }
  }
  Weight w;
  w.format = format;
  w.block_cols = cols;
  w.values = d.tensor(DType::I32, rows, per_row * l.words, name);
  d.upload(w.values, body.data());
  if (l.split_scale) {
    w.scales = d.tensor(DType::F16, rows, per_row, name);
    d.upload(w.scales, scales.data());
  }
  return w;
}

}  // namespace vkllm
