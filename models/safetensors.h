#pragma once
// Hugging Face safetensors: an 8-byte header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the data. The file is memory-mapped; every range is checked
// against the file, so a truncated or corrupt file gives an Error naming the file and tensor.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace vkllm {

class MappedFile;

struct SafeTensor {
  std::string name, dtype;       // dtype as written: "F32", "F16", "BF16", ...
  std::vector<int64_t> shape;   // outermost first (PyTorch order)
  const uint8_t* data = nullptr;
  uint64_t bytes = 0;
  int64_t elements() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;
  const std::string& path() const { return path_; }
  const std::map<std::string, SafeTensor>& tensors() const { return tensors_; }

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  std::map<std::string, SafeTensor> tensors_;
};

}  // namespace vkllm
