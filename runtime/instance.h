#pragma once
#include <mutex>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

namespace vkllm {

struct InstanceOptions {
  // VK_LAYER_KHRONOS_validation with synchronization validation; messages are collected
  // (and echoed to stderr) so tests can fail on any of them. Default: VKLLM_VALIDATION.
  bool validation;
  InstanceOptions();
};

class Instance {
 public:
  explicit Instance(InstanceOptions options = {});
  ~Instance();
  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;

  VkInstance handle() const { return instance_; }
  uint32_t api_version() const { return api_version_; }
  bool validation() const { return messenger_ != VK_NULL_HANDLE; }
  std::vector<VkPhysicalDevice> physical_devices() const;

  // Validation messages (warnings and errors) seen since the last call.
  std::vector<std::string> take_validation_messages();

 private:
  static VkBool32 VKAPI_PTR on_message(VkDebugUtilsMessageSeverityFlagBitsEXT,
                                       VkDebugUtilsMessageTypeFlagsEXT,
                                       const VkDebugUtilsMessengerCallbackDataEXT*, void*);
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
  uint32_t api_version_ = VK_API_VERSION_1_1;
  std::mutex mutex_;
  std::vector<std::string> messages_;
};

}  // namespace vkllm
