#pragma once
// Bytes of workgroup (shared) memory a compute module declares once specialized. Pipelines are
// refused before creation when this exceeds the device's maxComputeSharedMemorySize, so a kernel
// that does not fit a small device (the mobile limits profile: 16 KiB) fails with a message
// naming it instead of a driver crash or a validation error.
#include <cstdint>
#include <span>

namespace vkllm {

// `spec[i]` overrides the default of the specialization constant with SpecId i. Sizes follow
// std430 (vec3 takes 16 bytes), an upper bound of what drivers allocate. Throws Error for SPIR-V
// it cannot size (an unsupported specialization-constant operation), never guessing low.
uint64_t workgroup_memory_bytes(std::span<const uint32_t> words, std::span<const uint32_t> spec);

}  // namespace vkllm
