#pragma once
// Writes GGUF v3 files (llama.cpp's layout): metadata, tensor directory, 32-byte aligned data.
#include <cstdint>
#include <string>
#include <vector>

namespace vkllm {

class GgufWriter {
 public:
  void set_string(const std::string& key, const std::string& value);
  void set_u32(const std::string& key, uint32_t value);
  void set_f32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_strings(const std::string& key, const std::vector<std::string>& values);
  void set_f32s(const std::string& key, const std::vector<float>& values);
  void set_i32s(const std::string& key, const std::vector<int32_t>& values);
  void set_u8s(const std::string& key, const std::vector<uint8_t>& values);  // llama.cpp's precompiled_charsmap
  // dims innermost first (GGUF order); data holds the tensor's bytes in that type.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::vector<uint8_t> data);
  void write(const std::string& path) const;  // throws an Error naming the path on failure

 private:
  // Starts a metadata entry: key and value type (and, for arrays, item type and count).
  void begin(const std::string& key, uint32_t type);
  void begin_array(const std::string& key, uint32_t item_type, uint64_t count);

  struct TensorEntry {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::vector<uint8_t> data;
  };
  std::string metadata_;
  uint64_t n_kv_ = 0;
  std::vector<TensorEntry> tensors_;
};

}  // namespace vkllm
