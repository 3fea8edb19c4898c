#pragma once
// GGUF v2/v3 reader: the file is memory-mapped; metadata of every value type and the tensor
// directory are parsed up front, and every length, offset and size is bounds-checked, so a
// truncated or corrupt file gives an Error naming the file and the field.
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace vkllm {

class MappedFile;

// ggml tensor types as GGUF stores them (values fixed by the format).
enum class GgmlType : uint32_t { F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
                                 Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15, BF16 = 30 };
const char* ggml_type_name(uint32_t type);

struct GgufValue;
using GgufArray = std::vector<GgufValue>;
struct GgufValue {
  std::variant<uint64_t, int64_t, double, bool, std::string, GgufArray> v;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> dims;  // dims[0] is the innermost (contiguous) dimension
  uint32_t type = 0;
  uint64_t offset = 0;  // within the data section
  uint64_t bytes = 0;
  const uint8_t* data = nullptr;
  uint64_t elements() const;
};

class GgufFile {
 public:
  explicit GgufFile(const std::string& path);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  uint64_t data_offset() const { return data_start_; }  // where tensor offsets count from

  bool has(const std::string& key) const { return metadata_.count(key) > 0; }
  // Typed lookups; a missing key or a value of another kind is an Error naming the key.
  std::string get_string(const std::string& key) const;
  uint64_t get_uint(const std::string& key) const;
  double get_float(const std::string& key) const;
  const GgufArray& get_array(const std::string& key) const;
  bool get_bool(const std::string& key) const;
  bool get_bool(const std::string& key, bool fallback) const { return has(key) ? get_bool(key) : fallback; }
  uint64_t get_uint(const std::string& key, uint64_t fallback) const { return has(key) ? get_uint(key) : fallback; }
  double get_float(const std::string& key, double fallback) const { return has(key) ? get_float(key) : fallback; }

  const GgufTensor* find(const std::string& name) const;
  const GgufTensor& tensor(const std::string& name) const;  // Error if missing

 private:
  std::string path_;
  std::unique_ptr<MappedFile> file_;
  uint32_t version_ = 0;
  const uint8_t* map_ = nullptr;
  size_t size_ = 0;
  uint64_t data_start_ = 0;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> by_name_;
};

}  // namespace vkllm
