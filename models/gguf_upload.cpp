#include "models/gguf_upload.h"

#include <cstdio>
#include <optional>

#include "host/half.h"
#include "models/dequantize.h"
#include "models/upload.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
uint64_t total_bytes(const GgufFile& f) {
  uint64_t n = 0;
  for (const auto& t : f.tensors()) n += t.bytes;
  return n;
}
}  // namespace

GgufUploader::GgufUploader(Device& device, const GgufFile& file)
    : device_(device), file_(file), progress_(file.path(), total_bytes(file)) {}

Tensor GgufUploader::tensor(const GgufTensor& t) {
  Tensor out = convert(t);
  progress_.advance(t.bytes);
  return out;
}

namespace {
// The block formats the matvec kernels read as stored.
std::optional<WeightFormat> native_format(uint32_t type) {
  switch (GgmlType(type)) {
    case GgmlType::Q8_0: return WeightFormat::Q8_0;
    case GgmlType::Q4_0: return WeightFormat::Q4_0;
    case GgmlType::Q4_K: return WeightFormat::Q4_K;
    case GgmlType::Q5_K: return WeightFormat::Q5_K;
    case GgmlType::Q6_K: return WeightFormat::Q6_K;
    default: return std::nullopt;
  }
}
}  // namespace

Weight GgufUploader::weight(const GgufTensor& t) {
  const auto format = native_format(t.type);
  if (!format || t.dims.size() != 2) return Weight::plain(tensor(t));
  Weight w = Weight::from_blocks(device_, *format, int64_t(t.dims[1]), int64_t(t.dims[0]), {t.data, size_t(t.bytes)}, t.name);
  progress_.advance(t.bytes);
  return w;
}

void GgufUploader::log_dequantized() const {
  for (const auto& type : dequantized_)
    std::fprintf(stderr, "vkllm: %s: some %s tensors dequantized to F16 on load (no native kernel for them yet)\n",
                 file_.path().c_str(), type.c_str());
}

Tensor GgufUploader::convert(const GgufTensor& t) {
  const int64_t cols = int64_t(t.dims[0]), rows = int64_t(t.elements() / t.dims[0]);
  switch (GgmlType(t.type)) {
    case GgmlType::F32:
      return upload_dense(device_, StoredType::F32, rows, cols, t.data, t.name);
    case GgmlType::F16:
      return upload_dense(device_, StoredType::F16, rows, cols, t.data, t.name);
    case GgmlType::BF16:
      return upload_dense(device_, StoredType::BF16, rows, cols, t.data, t.name);
    default: {
      if (!can_dequantize(t.type))
        throw Error(file_.path() + ": tensor '" + t.name + "' is " + ggml_type_name(t.type) + ", which is not supported yet (" +
                    supported_types() + " are)");
      dequantized_.insert(ggml_type_name(t.type));
      Tensor out = device_.tensor(DType::F16, rows, cols, t.name);
      device_.upload(out, to_f16(dequantize(t)).data());
      return out;
    }
  }
}

}  // namespace vkllm
