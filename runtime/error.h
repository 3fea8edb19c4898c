#pragma once
#include <stdexcept>
#include <string>

#include <vulkan/vulkan.h>

namespace vkllm {

// Every failure vkllm reports is an Error whose message names the problem and what was asked.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// A failed Vulkan call, with its result (out of device memory, device lost, ...).
struct DeviceError : Error {
  DeviceError(VkResult r, const std::string& what) : Error(what), result(r) {}
  VkResult result;
};

// Throws an Error with `what` unless `ok` (for preconditions on user input).
inline void require(bool ok, const std::string& what) {
  if (!ok) throw Error(what);
}

const char* vk_result_name(VkResult r);
[[noreturn]] void throw_vk_error(VkResult r, const char* call, const char* file, int line);

}  // namespace vkllm

#define VKLLM_CHECK(call)                                                        \
  do {                                                                           \
    VkResult vkllm_r_ = (call);                                                  \
    if (vkllm_r_ != VK_SUCCESS) ::vkllm::throw_vk_error(vkllm_r_, #call, __FILE__, __LINE__); \
  } while (0)
