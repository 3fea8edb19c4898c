#pragma once
// NumPy .npy files of little-endian float32 in C order: what `vkllm logits` writes and the
// reference data in ../shared/data uses.
#include <cstdint>
#include <string>
#include <vector>

namespace vkllm {

struct NpyArray {
  std::vector<int64_t> shape;
  std::vector<float> data;
};

NpyArray read_npy_f32(const std::string& path);
void write_npy_f32(const std::string& path, const std::vector<int64_t>& shape, const std::vector<float>& data);

}  // namespace vkllm
