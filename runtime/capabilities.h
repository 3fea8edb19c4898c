#pragma once
// What a physical device offers (DeviceInfo, as queried) and what vkllm uses of it
// (Capabilities: one named flag per feature or quirk, after environment overrides).
// Every fallback in the engine is decided by a Capabilities flag, never by vendor checks.
#include <cstdint>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

namespace vkllm {

struct MemoryHeapInfo {
  uint64_t size;
  bool device_local;
};

struct DeviceInfo {
  uint32_t index = 0;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  std::string name;
  uint32_t vendor_id = 0, device_id = 0;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  std::string driver_name, driver_info;
  VkDriverId driver_id = VkDriverId(0);
  uint32_t driver_version = 0, api_version = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};
  std::vector<MemoryHeapInfo> heaps;
  bool host_visible_device_memory = false;  // a memory type that is device-local, host-visible and coherent
  uint32_t compute_queue_family = UINT32_MAX;

  uint32_t subgroup_size = 1, min_subgroup_size = 0, max_subgroup_size = 0;
  bool subgroup_size_control = false;  // VK_EXT_subgroup_size_control / Vulkan 1.3
  bool subgroup_arithmetic = false;    // arithmetic subgroup ops in compute shaders
  bool shader_float16 = false, shader_int8 = false;
  bool storage_buffer_16bit = false, storage_buffer_8bit = false;
  bool integer_dot_product = false;
  bool integer_dot_product_accelerated = false;  // 4x8-bit packed signed dot products in hardware
  bool cooperative_matrix = false;  // VK_KHR_cooperative_matrix (or the NV predecessor)
  bool timestamps = false;
  float timestamp_period_ns = 1.0f;

  uint64_t max_storage_buffer_range = 0, max_memory_allocation_size = 0;
  uint32_t min_storage_buffer_offset_alignment = 1;
  uint32_t max_texel_buffer_elements = 0, min_texel_buffer_offset_alignment = 1;
  uint32_t max_compute_shared_memory = 0;
  uint32_t max_workgroup_size[3] = {};
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_count[3] = {};

  std::vector<std::string> extensions;
  bool has_extension(const char* name) const;

  std::string limits_profile;  // the limits profile applied ("" for none; see apply_limits_profile)
};

// Queries everything above for one physical device.
DeviceInfo query_device_info(VkPhysicalDevice physical, uint32_t index);

// Lowers what `info` reports to a class of weaker devices, so that the engine's fallbacks run on
// the machine at hand (VKLLM_LIMITS; DeviceOptions::limits). "" or "device": no change.
// "mobile": what the weakest supported phones report: 128 MiB storage-buffer range, 16 KiB
// shared memory, 256 invocations per workgroup, no 16-bit or 8-bit storage, no subgroup
// arithmetic, no integer dot product, no cooperative matrix. Throws for another name.
void apply_limits_profile(DeviceInfo& info, const std::string& profile);

const char* device_type_name(VkPhysicalDeviceType type);
std::string format_version(uint32_t vk_version);
std::string format_driver_version(const DeviceInfo& info);
std::string vendor_name(uint32_t vendor_id);

// Orders devices for the default choice: discrete > integrated > virtual > CPU > other.
int device_preference(VkPhysicalDeviceType type);

// Picks a device index from `spec` ("" = best by type; an index; or a case-insensitive
// substring of the name). Throws an Error listing the devices when nothing matches.
uint32_t select_device(const std::vector<DeviceInfo>& devices, const std::string& spec);

struct Capabilities {
  // 16-bit storage buffers: f16 tensors are read as float16_t; otherwise as packed uints.
  bool f16_storage = false;
  // Subgroup arithmetic in compute shaders: reductions use subgroupAdd/Max; otherwise shared memory.
  bool subgroup_arithmetic = false;
  // Pipelines may request a subgroup size (VK_EXT_subgroup_size_control).
  bool subgroup_size_control = false;
  // The subgroup size is fixed (min == max), so a workgroup of subgroup_size invocations is one
  // subgroup and reductions use shader variants with no barrier in their code (lavapipe turns a
  // workgroup whose shader holds any barrier into coroutines). Off with VKLLM_DISABLE_SUBGROUP.
  bool one_subgroup_workgroups = false;
  // Memory that is device-local and host-visible is used directly (UMA, lavapipe, ReBAR);
  // otherwise uploads and readbacks go through staging buffers.
  bool unified_memory = false;
  bool timestamps = false;
  // CPU implementations (lavapipe, SwiftShader) run a workgroup's subgroups one after another,
  // so each barrier is a context switch: kernels that stage data through shared memory lose to
  // barrier-free ones (the tiled matmul runs 5x slower than the multi-vector matvec there).
  bool workgroup_barriers_expensive = false;
  // Weights and activations are read through uniform texel buffers (16-byte RGBA32UI texels)
  // instead of storage buffers. lavapipe (Mesa 22.3) compiles every storage-buffer load into a
  // loop over the SIMD lanes with a bounds check and branch each, but a texel fetch into a
  // vector gather: streaming reads run at 23 GB/s instead of 1.2. Set for CPU devices whose
  // texel buffers can cover a whole descriptor range; VKLLM_KERNELS=gpu turns it off.
  bool texel_reads = false;
  // Barriers one workgroup may execute before the driver misbehaves (0: no limit). lavapipe
  // (Mesa 22.3) silently stops a workgroup after 65536; kernels with a barrier per loop step
  // split their work to stay well below it.
  uint32_t max_workgroup_barriers = 0;
  // Workgroups a CPU device runs at once (its threads; 0: no limit, GPUs). Each workgroup costs
  // lavapipe a fixed setup, so the matrix-vector kernels with barrier-free reductions launch no
  // more than this and loop over their row groups: 1.2-1.8x faster on 768- to 2048-row products
  // with 2 threads.
  uint32_t concurrent_workgroups = 0;
  // Block-format matrix-vector products quantize x to 8-bit blocks once per product and take
  // integer dot products of packed bytes (SPV_KHR_integer_dot_product), as llama.cpp's
  // mmvq does. On where the device has shaderIntegerDotProduct and accelerates 4x8-bit packed
  // dot products; VKLLM_INT_DOT=0 turns it off, =1 on wherever the feature exists (lavapipe
  // has it unaccelerated: CI runs the suite both ways).
  bool integer_dot_product = false;

  uint32_t subgroup_size = 1;
  // Largest range one descriptor may cover: min(maxStorageBufferRange, maxMemoryAllocationSize,
  // VKLLM_MAX_BUFFER_RANGE). Larger tensors are split into chunks of whole rows.
  uint64_t max_buffer_range = 0;
  uint64_t max_allocation = 0;
  uint32_t storage_offset_alignment = 16;
  uint32_t max_shared_memory = 16384;
  uint32_t max_workgroup_invocations = 128;
  uint32_t max_workgroup_count_x = 65535;

  uint32_t texel_offset_alignment = 16;

  // From the device, then VKLLM_DISABLE_F16, VKLLM_DISABLE_SUBGROUP, VKLLM_FORCE_STAGING,
  // VKLLM_MAX_BUFFER_RANGE, VKLLM_KERNELS=gpu (the kernel shapes chosen for GPUs, on any device),
  // VKLLM_INT_DOT; a nonzero max_buffer_range caps storage buffers as VKLLM_MAX_BUFFER_RANGE does.
  static Capabilities from(const DeviceInfo& info, uint64_t max_buffer_range = 0);
  std::string describe() const;
};

}  // namespace vkllm
