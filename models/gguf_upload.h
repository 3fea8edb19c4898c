#pragma once
// Uploads GGUF tensors as [rows = product of outer dims, cols = dims[0]], with a progress bar.
// Types without a kernel for their use are dequantized to f16 and logged once per type.
#include <set>
#include <string>

#include "models/gguf.h"
#include "models/load_progress.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm {

class Device;

class GgufUploader {
 public:
  GgufUploader(Device& device, const GgufFile& file);
  Tensor tensor(const GgufTensor& t);
  // A projection matrix: Q8_0 stays quantized for the native kernel; other types as tensor().
  Weight weight(const GgufTensor& t);
  void log_dequantized() const;

 private:
  Tensor convert(const GgufTensor& t);
  Device& device_;
  const GgufFile& file_;
  LoadProgress progress_;
  std::set<std::string> dequantized_;
};

}  // namespace vkllm
