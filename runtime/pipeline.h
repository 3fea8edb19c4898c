#pragma once
// Ops are declared once (OpDecl: name, bindings with their access, push-constant size); a
// Pipeline is one op compiled for one shader variant and one set of specialization constants.
// Pipelines are created once per device and cached, in memory and in an on-disk
// VkPipelineCache keyed by the driver's pipeline-cache UUID and driver version.
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vulkan/vulkan.h>

namespace vkllm {

class Device;

// ReadTexels: read-only, bound as a uniform texel buffer of 16-byte RGBA32UI texels
// (Capabilities::texel_reads; shaders/fetch.glsl reads either kind the same way).
enum class Access : uint8_t { Read, Write, ReadWrite, ReadTexels };

VkDescriptorType descriptor_type(Access a);

struct OpDecl {
  const char* name;               // shown by the profiler
  std::vector<Access> bindings;   // buffers at set 0, binding i
  uint32_t push_bytes;            // size of the push-constant block
};

// Every pipeline also sees, at set 1 binding 0, the graph's step values (see Graph).
constexpr uint32_t kStepSet = 1;

struct Pipeline {
  const OpDecl* decl = nullptr;
  std::string variant;
  uint32_t local_size = 1;  // specialization constant 0: workgroup size in x
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
};

class Pipelines {
 public:
  explicit Pipelines(Device& device);
  ~Pipelines();  // writes the disk cache when new pipelines were built
  Pipelines(const Pipelines&) = delete;
  Pipelines& operator=(const Pipelines&) = delete;

  // `variant` names an embedded SPIR-V module. spec[i] is specialization constant i (32-bit);
  // constant 0 is the workgroup size in x by convention.
  const Pipeline& get(const OpDecl& decl, std::string_view variant, const std::vector<uint32_t>& spec);

  VkDescriptorSetLayout step_set_layout() const { return step_layout_; }
  VkDescriptorSetLayout set_layout(const std::vector<Access>& bindings);
  const std::filesystem::path& disk_cache_path() const { return path_; }

 private:
  Device& device_;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout step_layout_ = VK_NULL_HANDLE;
  std::map<std::vector<Access>, VkDescriptorSetLayout> set_layouts_;
  std::map<std::string, std::unique_ptr<Pipeline>> pipelines_;
  std::filesystem::path path_;  // empty: disk cache disabled
  bool dirty_ = false;
};

}  // namespace vkllm
