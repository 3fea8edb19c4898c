#include "models/gguf.h"

#include <algorithm>
#include <cstring>

#include "models/mapped_file.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

// Block size (elements) and bytes per block of each supported type.
bool type_layout(uint32_t type, uint64_t& block, uint64_t& bytes) {
  switch (GgmlType(type)) {
    case GgmlType::F32: block = 1, bytes = 4; return true;
    case GgmlType::F16: case GgmlType::BF16: block = 1, bytes = 2; return true;
    case GgmlType::Q4_0: block = 32, bytes = 18; return true;
    case GgmlType::Q4_1: block = 32, bytes = 20; return true;
    case GgmlType::Q5_0: block = 32, bytes = 22; return true;
    case GgmlType::Q5_1: block = 32, bytes = 24; return true;
    case GgmlType::Q8_0: block = 32, bytes = 34; return true;
    case GgmlType::Q2_K: block = 256, bytes = 84; return true;
    case GgmlType::Q3_K: block = 256, bytes = 110; return true;
    case GgmlType::Q4_K: block = 256, bytes = 144; return true;
    case GgmlType::Q5_K: block = 256, bytes = 176; return true;
    case GgmlType::Q6_K: block = 256, bytes = 210; return true;
    default: return false;
  }
}

class Reader {
 public:
  Reader(const uint8_t* data, size_t size, const std::string& path) : p_(data), size_(size), path_(path) {}
  size_t at() const { return at_; }
  void seek(size_t to) { at_ = to; }
  const uint8_t* bytes(uint64_t n, const std::string& what) {
    if (n > size_ - at_) fail("truncated while reading " + what);
    const uint8_t* r = p_ + at_;
    at_ += size_t(n);
    return r;
  }
  template <class T>
  T get(const std::string& what) {
    T v;
    std::memcpy(&v, bytes(sizeof(T), what), sizeof(T));
    return v;
  }
  std::string str(const std::string& what) {
    const uint64_t n = get<uint64_t>(what + " length");
    const uint8_t* b = bytes(n, what);
    return std::string(reinterpret_cast<const char*>(b), size_t(n));
  }
  [[noreturn]] void fail(const std::string& why) const {
    throw Error(path_ + ": " + why + " (at byte " + std::to_string(at_) + " of " + std::to_string(size_) + ")");
  }

 private:
  const uint8_t* p_;
  size_t size_, at_ = 0;
  const std::string& path_;
};

GgufValue read_value(Reader& r, uint32_t type, const std::string& key, int depth) {
  switch (type) {
    case 0: return {uint64_t(r.get<uint8_t>(key))};
    case 1: return {int64_t(r.get<int8_t>(key))};
    case 2: return {uint64_t(r.get<uint16_t>(key))};
    case 3: return {int64_t(r.get<int16_t>(key))};
    case 4: return {uint64_t(r.get<uint32_t>(key))};
    case 5: return {int64_t(r.get<int32_t>(key))};
    case 6: return {double(r.get<float>(key))};
    case 7: return {r.get<uint8_t>(key) != 0};
    case 8: return {r.str(key)};
    case 9: {
      if (depth > 2) r.fail("metadata '" + key + "' nests arrays too deeply");
      const uint32_t item = r.get<uint32_t>(key + " item type");
      const uint64_t n = r.get<uint64_t>(key + " count");
      if (n > (1ull << 32)) r.fail("metadata '" + key + "' claims " + std::to_string(n) + " items");
      GgufArray a;
      a.reserve(size_t(std::min<uint64_t>(n, 1 << 20)));
      for (uint64_t i = 0; i < n; ++i) a.push_back(read_value(r, item, key, depth + 1));
      return {std::move(a)};
    }
    case 10: return {r.get<uint64_t>(key)};
    case 11: return {r.get<int64_t>(key)};
    case 12: return {r.get<double>(key)};
    default: r.fail("metadata '" + key + "' has unknown value type " + std::to_string(type));
  }
}

}  // namespace

const char* ggml_type_name(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::F32: return "F32";
    case GgmlType::F16: return "F16";
    case GgmlType::BF16: return "BF16";
    case GgmlType::Q4_0: return "Q4_0";
    case GgmlType::Q4_1: return "Q4_1";
    case GgmlType::Q5_0: return "Q5_0";
    case GgmlType::Q5_1: return "Q5_1";
    case GgmlType::Q8_0: return "Q8_0";
    case GgmlType::Q8_1: return "Q8_1";
    case GgmlType::Q2_K: return "Q2_K";
    case GgmlType::Q3_K: return "Q3_K";
    case GgmlType::Q4_K: return "Q4_K";
    case GgmlType::Q5_K: return "Q5_K";
    case GgmlType::Q6_K: return "Q6_K";
    case GgmlType::Q8_K: return "Q8_K";
    default: return "unknown";
  }
}

uint64_t GgufTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : dims) n *= d;
  return n;
}

GgufFile::GgufFile(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path, 24, "a GGUF file")), map_(file_->data()), size_(file_->size()) {
  {
    Reader r(map_, size_, path_);
    if (std::memcmp(r.bytes(4, "magic"), "GGUF", 4) != 0) r.fail("wrong magic: not a GGUF file");
    version_ = r.get<uint32_t>("version");
    if (version_ != 2 && version_ != 3) r.fail("GGUF version " + std::to_string(version_) + " is not supported (2 or 3)");
    const uint64_t n_tensors = r.get<uint64_t>("tensor count"), n_kv = r.get<uint64_t>("metadata count");
    if (n_tensors > size_ / 8 || n_kv > size_ / 8) r.fail("implausible tensor or metadata count");
    for (uint64_t i = 0; i < n_kv; ++i) {
      std::string key = r.str("metadata key");
      const uint32_t type = r.get<uint32_t>("type of metadata '" + key + "'");
      metadata_[key] = read_value(r, type, key, 0);
    }
    for (uint64_t i = 0; i < n_tensors; ++i) {
      GgufTensor t;
      t.name = r.str("tensor name");
      const uint32_t n_dims = r.get<uint32_t>("dimensions of tensor '" + t.name + "'");
      if (n_dims == 0 || n_dims > 4) r.fail("tensor '" + t.name + "' has " + std::to_string(n_dims) + " dimensions");
      for (uint32_t d = 0; d < n_dims; ++d) t.dims.push_back(r.get<uint64_t>("shape of tensor '" + t.name + "'"));
      t.type = r.get<uint32_t>("type of tensor '" + t.name + "'");
      t.offset = r.get<uint64_t>("offset of tensor '" + t.name + "'");
      uint64_t block = 0, block_bytes = 0;
      if (!type_layout(t.type, block, block_bytes))
        r.fail("tensor '" + t.name + "' has unsupported type " + std::to_string(t.type) + " (" + ggml_type_name(t.type) + ")");
      uint64_t elements = 1;
      for (uint64_t d : t.dims) {
        if (d == 0 || d > (1ull << 40)) r.fail("tensor '" + t.name + "' has dimension " + std::to_string(d));
        if (__builtin_mul_overflow(elements, d, &elements))
          r.fail("tensor '" + t.name + "' has dimensions whose product overflows 64 bits");
      }
      if (t.dims[0] % block) r.fail("tensor '" + t.name + "' rows are not whole " + ggml_type_name(t.type) + " blocks");
      if (__builtin_mul_overflow(elements / block, block_bytes, &t.bytes))
        r.fail("tensor '" + t.name + "' has more bytes than 64 bits count");
      if (!by_name_.emplace(t.name, tensors_.size()).second) r.fail("tensor '" + t.name + "' appears twice");
      tensors_.push_back(std::move(t));
    }
    const uint64_t alignment = has("general.alignment") ? get_uint("general.alignment") : 32;
    if (alignment == 0 || (alignment & (alignment - 1))) r.fail("general.alignment " + std::to_string(alignment) + " is not a power of two");
    const uint64_t data_start = data_start_ = (r.at() + alignment - 1) / alignment * alignment;
    for (auto& t : tensors_) {
      if (t.offset % alignment) r.fail("tensor '" + t.name + "' is not aligned to " + std::to_string(alignment));
      if (data_start + t.offset > size_ || t.bytes > size_ - data_start - t.offset)
        r.fail("tensor '" + t.name + "' (" + std::to_string(t.bytes) + " bytes at offset " + std::to_string(t.offset) +
               ") lies past the end of the file");
      t.data = map_ + data_start + t.offset;
    }
    // Tensors share no bytes: a file whose tensors overlap was not written by a GGUF writer.
    std::vector<const GgufTensor*> by_offset;
    for (const auto& t : tensors_) by_offset.push_back(&t);
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t i = 1; i < by_offset.size(); ++i)
      if (by_offset[i - 1]->offset + by_offset[i - 1]->bytes > by_offset[i]->offset)
        r.fail("tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
  }
}

GgufFile::~GgufFile() = default;

namespace {
template <class T>
const T& expect(const std::map<std::string, GgufValue>& m, const std::string& path, const std::string& key, const char* kind) {
  auto it = m.find(key);
  if (it == m.end()) throw Error(path + ": metadata '" + key + "' is missing");
  if (!std::holds_alternative<T>(it->second.v)) throw Error(path + ": metadata '" + key + "' is not " + kind);
  return std::get<T>(it->second.v);
}
}  // namespace

std::string GgufFile::get_string(const std::string& key) const { return expect<std::string>(metadata_, path_, key, "a string"); }
const GgufArray& GgufFile::get_array(const std::string& key) const { return expect<GgufArray>(metadata_, path_, key, "an array"); }

bool GgufFile::get_bool(const std::string& key) const { return expect<bool>(metadata_, path_, key, "a boolean"); }

uint64_t GgufFile::get_uint(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it != metadata_.end()) {
    if (auto u = std::get_if<uint64_t>(&it->second.v)) return *u;
    if (auto i = std::get_if<int64_t>(&it->second.v); i && *i >= 0) return uint64_t(*i);
  }
  return expect<uint64_t>(metadata_, path_, key, "a non-negative integer");
}

double GgufFile::get_float(const std::string& key) const {
  auto it = metadata_.find(key);
  if (it != metadata_.end()) {
    if (auto d = std::get_if<double>(&it->second.v)) return *d;
    if (auto u = std::get_if<uint64_t>(&it->second.v)) return double(*u);
  }
  return expect<double>(metadata_, path_, key, "a number");
}

const GgufTensor* GgufFile::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

const GgufTensor& GgufFile::tensor(const std::string& name) const {
  if (auto* t = find(name)) return *t;
  throw Error(path_ + ": tensor '" + name + "' is missing");
}

}  // namespace vkllm
