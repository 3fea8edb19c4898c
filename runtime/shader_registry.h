#pragma once
// The SPIR-V modules compiled from shaders/ at build time and embedded in the library.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

namespace vkllm {

struct SpirvModule {
  const char* name;  // variant name, e.g. "matvec_f16"
  const uint32_t* words;
  size_t word_count;
};

std::span<const SpirvModule> spirv_modules();

}  // namespace vkllm
