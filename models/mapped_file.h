#pragma once
// A whole file mapped read-only into memory (model files are read in place, never copied).
#include <cstddef>
#include <cstdint>
#include <string>

namespace vkllm {

class MappedFile {
 public:
  // Error naming the file when it cannot be opened or is smaller than min_size (`kind` says
  // what it should have been, e.g. "a GGUF file").
  MappedFile(const std::string& path, size_t min_size, const char* kind);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace vkllm
