#pragma once
// Helpers shared by the op wrappers in runtime/ops/.
#include <cctype>
#include <string>

#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm::ops {

inline void require_dtype(const Tensor& t, DType d, const char* op) {
  require(t.dtype == d, std::string(op) + ": " + t.describe() + " must be " + dtype_name(d));
}

inline void require_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  require(a.rows == b.rows && a.cols == b.cols,
          std::string(op) + ": shapes differ: " + a.describe() + " vs " + b.describe());
}

// Shader variant suffix for the reduction strategy the device supports.
inline std::string reduce_variant(const Device& d, const char* base) {
  const Capabilities& c = d.caps();
  return std::string(base) + (c.one_subgroup_workgroups ? "_sg1" : c.subgroup_arithmetic ? "_sg" : "_sh");
}

// Variant for shaders that read through fetch.glsl: texel buffers where the device uses them.
inline std::string fetch_variant(const Device& d, const char* base) {
  return std::string(base) + (d.caps().texel_reads ? "_tx" : "");
}

// Variant of a block-format kernel: "<base>_<format><suffix>" as shaders/CMakeLists.txt names
// them ("matvec_q4_k", "matvec_q8_0_dot"), then fetch_variant's suffix.
inline std::string block_variant(const Device& d, const char* base, WeightFormat f, const char* suffix = "") {
  std::string name = std::string(base) + "_" + weight_format_name(f) + suffix;
  for (char& c : name) c = char(std::tolower(static_cast<unsigned char>(c)));
  return fetch_variant(d, name.c_str());
}

// Shader variant suffix for how a weight/table of type `t` is read.
inline std::string weight_variant(const Device& d, const char* base, DType t, const char* op) {
  if (t == DType::F32) return std::string(base) + "_f32";
  if (t == DType::F16) return std::string(base) + (d.caps().f16_storage ? "_f16" : "_f16p");
  throw Error(std::string(op) + ": weights of type " + dtype_name(t) + " are not supported");
}

// Workgroup size for ops that reduce across a workgroup: one subgroup, so the reduction needs
// no barrier (on lavapipe 1.5-4x faster than 64 invocations; on GPUs one warp or wave).
// Subgroup sizes are powers of two, as the shared-memory fallback requires.
inline uint32_t subgroup_local_size(const Device& d) {
  return std::min(d.caps().subgroup_size, d.caps().max_workgroup_invocations);
}

inline uint32_t u32(int64_t v) { return uint32_t(v); }

}  // namespace vkllm::ops
