// `vkllm devices`: every Vulkan device and what vkllm uses of it.
#include <cstdio>

#include "runtime/capabilities.h"
#include "runtime/device.h"
#include "runtime/instance.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

const char* yes(bool b) { return b ? "yes" : "no"; }

void list_devices() {
  Instance instance;
  const DeviceOptions options;
  auto devices = enumerate_devices(instance, options.limits);
  const uint32_t chosen = select_device(devices, options.select);
  for (auto& d : devices) {
    std::printf("Device %u: %s%s\n", d.index, d.name.c_str(), d.index == chosen ? "  [selected]" : "");
    std::printf("  vendor                 %s (0x%04x), device 0x%04x\n", vendor_name(d.vendor_id).c_str(), d.vendor_id, d.device_id);
    std::printf("  type                   %s\n", device_type_name(d.type));
    std::printf("  driver                 %s, %s (version %s)\n", d.driver_name.empty() ? "?" : d.driver_name.c_str(),
                d.driver_info.c_str(), format_driver_version(d).c_str());
    std::printf("  Vulkan API             %s\n", format_version(d.api_version).c_str());
    if (!d.limits_profile.empty())
      std::printf("  limits profile         %s (VKLLM_LIMITS): the features and limits below are lowered to it\n",
                  d.limits_profile.c_str());
    for (size_t h = 0; h < d.heaps.size(); ++h)
      std::printf("  memory heap %zu          %s%s\n", h, human_bytes(d.heaps[h].size).c_str(),
                  d.heaps[h].device_local ? ", device-local" : "");
    if (d.subgroup_size_control)
      std::printf("  subgroup size          %u (min %u, max %u, size control)\n", d.subgroup_size, d.min_subgroup_size,
                  d.max_subgroup_size);
    else
      std::printf("  subgroup size          %u\n", d.subgroup_size);
    std::printf("  subgroup arithmetic    %s\n", yes(d.subgroup_arithmetic));
    std::printf("  shaderFloat16          %s\n", yes(d.shader_float16));
    std::printf("  shaderInt8             %s\n", yes(d.shader_int8));
    std::printf("  16-bit storage         %s\n", yes(d.storage_buffer_16bit));
    std::printf("  8-bit storage          %s\n", yes(d.storage_buffer_8bit));
    std::printf("  integer dot product    %s\n", yes(d.integer_dot_product));
    std::printf("  cooperative matrix     %s\n", yes(d.cooperative_matrix));
    std::printf("  maxStorageBufferRange  %s\n", human_bytes(d.max_storage_buffer_range).c_str());
    std::printf("  maxMemoryAllocation    %s\n", human_bytes(d.max_memory_allocation_size).c_str());
    std::printf("  max shared memory      %s\n", human_bytes(d.max_compute_shared_memory).c_str());
    std::printf("  max workgroup size     %u x %u x %u, %u invocations\n", d.max_workgroup_size[0], d.max_workgroup_size[1],
                d.max_workgroup_size[2], d.max_workgroup_invocations);
    std::printf("  vkllm capabilities     %s\n", Capabilities::from(d).describe().c_str());
  }
}

}  // namespace

Command add_devices(CLI::App& app) {
  return {app.add_subcommand("devices", "list Vulkan devices and what vkllm uses of them"), list_devices};
}

}  // namespace vkllm::cli
