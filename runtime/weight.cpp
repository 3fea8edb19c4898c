#include "runtime/weight.h"

#include <cstring>
#include <string>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

Weight Weight::from_q8_0_blocks(Device& d, int64_t rows, int64_t cols, std::span<const uint8_t> blocks,
                                std::string_view name) {
  if (cols % 32 != 0) throw Error("Q8_0 weight '" + std::string(name) + "': columns must be whole blocks of 32");
  const int64_t per_row = cols / 32;
  if (int64_t(blocks.size()) != rows * per_row * 34)
    throw Error("Q8_0 weight '" + std::string(name) + "': " + std::to_string(blocks.size()) + " bytes for " +
                std::to_string(rows) + " x " + std::to_string(cols));
  std::vector<uint8_t> quants(size_t(rows * cols));
  std::vector<uint16_t> scales(size_t(rows * per_row));
  for (int64_t b = 0; b < rows * per_row; ++b) {
    std::memcpy(&scales[size_t(b)], blocks.data() + b * 34, 2);
    std::memcpy(quants.data() + b * 32, blocks.data() + b * 34 + 2, 32);
  }
  Weight w;
  w.values = d.tensor(DType::I32, rows, cols / 4, name);
  w.scales = d.tensor(DType::F16, rows, per_row, name);
  d.upload(w.values, quants.data());
  d.upload(w.scales, scales.data());
  return w;
}

}  // namespace vkllm
