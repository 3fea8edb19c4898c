#include "models/safetensors.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include <nlohmann/json.hpp>

#include "models/mapped_file.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

uint64_t dtype_bytes(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "F16" || dtype == "BF16" || dtype == "I16" || dtype == "U16") return 2;
  if (dtype == "I8" || dtype == "U8" || dtype == "BOOL" || dtype == "F8_E4M3" || dtype == "F8_E5M2") return 1;
  return 0;
}

}  // namespace

int64_t SafeTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : path_(path), file_(std::make_unique<MappedFile>(path, 8, "a safetensors file")) {
  const uint8_t* map = file_->data();
  const size_t size = file_->size();
  uint64_t header_len;
  std::memcpy(&header_len, map, 8);
  if (header_len > size - 8) throw Error(path + ": the safetensors header (" + std::to_string(header_len) + " bytes) runs past the end of the file");
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(map + 8, map + 8 + header_len);
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": the safetensors header is not valid JSON (" + e.what() + ")");
  }
  if (!header.is_object()) throw Error(path + ": the safetensors header is not a JSON object");
  const uint8_t* data = map + 8 + header_len;
  const uint64_t data_size = size - 8 - header_len;
  for (const auto& item : header.items()) {  // not a structured binding: lambdas capture it (clang 14)
    const std::string& name = item.key();
    const auto& entry = item.value();
    if (name == "__metadata__") continue;
    auto fail = [&](const std::string& what) { throw Error(path + ": tensor '" + name + "': " + what); };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets"))
      fail("needs dtype, shape and data_offsets");
    SafeTensor t;
    t.name = name;
    try {
      t.dtype = entry["dtype"].get<std::string>();
      t.shape = entry["shape"].get<std::vector<int64_t>>();
      const auto offsets = entry["data_offsets"].get<std::vector<uint64_t>>();
      if (offsets.size() != 2 || offsets[0] > offsets[1]) fail("data_offsets must be [begin, end]");
      if (offsets[1] > data_size) fail("data lies past the end of the file");
      t.data = data + offsets[0];
      t.bytes = offsets[1] - offsets[0];
    } catch (const nlohmann::json::exception& e) {
      fail(std::string("malformed entry (") + e.what() + ")");
    }
    const uint64_t element = dtype_bytes(t.dtype);
    if (element == 0) fail("unknown dtype '" + t.dtype + "'");
    uint64_t bytes = element;
    for (int64_t d : t.shape) {
      if (d < 0) fail("negative dimension");
      if (__builtin_mul_overflow(bytes, uint64_t(d), &bytes)) fail("dimensions whose product overflows 64 bits");
    }
    if (bytes != t.bytes)
      fail(std::to_string(t.bytes) + " bytes of data for " + std::to_string(bytes / element) + " " + t.dtype + " elements");
    tensors_.emplace(name, std::move(t));
  }
  // Tensors share no bytes: a file whose tensors overlap was not written by a safetensors writer.
  std::vector<const SafeTensor*> by_offset;
  for (const auto& [name, t] : tensors_)
    if (t.bytes) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->data < b->data; });
  for (size_t i = 1; i < by_offset.size(); ++i)
    if (by_offset[i - 1]->data + by_offset[i - 1]->bytes > by_offset[i]->data)
      throw Error(path + ": tensors '" + by_offset[i - 1]->name + "' and '" + by_offset[i]->name + "' overlap");
}

SafetensorsFile::~SafetensorsFile() = default;

}  // namespace vkllm
