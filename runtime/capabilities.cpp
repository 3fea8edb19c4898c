#include "runtime/capabilities.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <sstream>
#include <thread>

#include "runtime/env.h"
#include "runtime/error.h"

namespace vkllm {

bool DeviceInfo::has_extension(const char* ext) const {
  return std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
}

DeviceInfo query_device_info(VkPhysicalDevice physical, uint32_t index) {
  DeviceInfo info;
  info.index = index;
  info.physical = physical;

  uint32_t n = 0;
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, nullptr);
  std::vector<VkExtensionProperties> exts(n);
  vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, exts.data());
  for (auto& e : exts) info.extensions.emplace_back(e.extensionName);

  VkPhysicalDeviceProperties basic;
  vkGetPhysicalDeviceProperties(physical, &basic);
  const uint32_t api = basic.apiVersion;
  const bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
  const bool has_driver_props = v12 || info.has_extension(VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME);
  const bool has_sg_control = v13 || info.has_extension(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME);
  const bool has_f16i8 = v12 || info.has_extension(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME);
  const bool has_8bit = v12 || info.has_extension(VK_KHR_8BIT_STORAGE_EXTENSION_NAME);
  const bool has_dot = v13 || info.has_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);

  // Properties: chain only the structures the device's version or extensions define.
  VkPhysicalDeviceProperties2 props{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  VkPhysicalDeviceSubgroupSizeControlPropertiesEXT sg_size{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES_EXT};
  VkPhysicalDeviceDriverPropertiesKHR driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES_KHR};
  VkPhysicalDeviceShaderIntegerDotProductPropertiesKHR dot_props{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES_KHR};
  void** tail = &props.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  chain(subgroup);
  if (has_sg_control) chain(sg_size);
  if (has_driver_props) chain(driver);
  if (has_dot) chain(dot_props);
  vkGetPhysicalDeviceProperties2(physical, &props);

  const auto& p = props.properties;
  info.name = p.deviceName;
  info.vendor_id = p.vendorID;
  info.device_id = p.deviceID;
  info.type = p.deviceType;
  info.api_version = p.apiVersion;
  info.driver_version = p.driverVersion;
  std::memcpy(info.pipeline_cache_uuid, p.pipelineCacheUUID, VK_UUID_SIZE);
  if (has_driver_props) {
    info.driver_name = driver.driverName;
    info.driver_info = driver.driverInfo;
    info.driver_id = driver.driverID;
  }
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT) &&
                             (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
  if (has_sg_control) {
    info.min_subgroup_size = sg_size.minSubgroupSize;
    info.max_subgroup_size = sg_size.maxSubgroupSize;
  }
  info.max_storage_buffer_range = p.limits.maxStorageBufferRange;
  info.min_storage_buffer_offset_alignment = uint32_t(p.limits.minStorageBufferOffsetAlignment);
  info.max_texel_buffer_elements = p.limits.maxTexelBufferElements;
  info.min_texel_buffer_offset_alignment = uint32_t(p.limits.minTexelBufferOffsetAlignment);
  info.max_compute_shared_memory = p.limits.maxComputeSharedMemorySize;
  for (int i = 0; i < 3; ++i) {
    info.max_workgroup_size[i] = p.limits.maxComputeWorkGroupSize[i];
    info.max_workgroup_count[i] = p.limits.maxComputeWorkGroupCount[i];
  }
  info.max_workgroup_invocations = p.limits.maxComputeWorkGroupInvocations;
  info.timestamp_period_ns = p.limits.timestampPeriod;

  VkPhysicalDeviceMaintenance3Properties m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceProperties2 props_m3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &m3};
  vkGetPhysicalDeviceProperties2(physical, &props_m3);
  info.max_memory_allocation_size = m3.maxMemoryAllocationSize;

  // Features.
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDevice8BitStorageFeaturesKHR s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES_KHR};
  VkPhysicalDeviceShaderFloat16Int8FeaturesKHR f16i8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES_KHR};
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgc{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot{
      VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  tail = &features.pNext;
  chain(s16);
  if (has_8bit) chain(s8);
  if (has_f16i8) chain(f16i8);
  if (has_sg_control) chain(sgc);
  if (has_dot) chain(dot);
  vkGetPhysicalDeviceFeatures2(physical, &features);
  info.storage_buffer_16bit = s16.storageBuffer16BitAccess;
  info.storage_buffer_8bit = has_8bit && s8.storageBuffer8BitAccess;
  info.shader_float16 = has_f16i8 && f16i8.shaderFloat16;
  info.shader_int8 = has_f16i8 && f16i8.shaderInt8;
  info.subgroup_size_control = has_sg_control && sgc.subgroupSizeControl && sgc.computeFullSubgroups;
  info.integer_dot_product = has_dot && dot.shaderIntegerDotProduct;
  info.integer_dot_product_accelerated = has_dot && dot_props.integerDotProduct4x8BitPackedSignedAccelerated;
  info.cooperative_matrix = info.has_extension("VK_KHR_cooperative_matrix") ||
                            info.has_extension("VK_NV_cooperative_matrix");

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(physical, &mem);
  for (uint32_t i = 0; i < mem.memoryHeapCount; ++i)
    info.heaps.push_back({mem.memoryHeaps[i].size, bool(mem.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)});
  const VkMemoryPropertyFlags unified = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT |
                                        VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  for (uint32_t i = 0; i < mem.memoryTypeCount; ++i)
    if ((mem.memoryTypes[i].propertyFlags & unified) == unified) info.host_visible_device_memory = true;

  uint32_t nq = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> queues(nq);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, queues.data());
  // Prefer a compute queue family without graphics (dedicated async compute), else any with compute.
  for (int pass = 0; pass < 2 && info.compute_queue_family == UINT32_MAX; ++pass)
    for (uint32_t i = 0; i < nq; ++i) {
      bool compute = queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT;
      bool graphics = queues[i].queueFlags & VK_QUEUE_GRAPHICS_BIT;
      if (compute && (pass == 1 || !graphics)) {
        info.compute_queue_family = i;
        info.timestamps = queues[i].timestampValidBits > 0 && p.limits.timestampPeriod > 0;
        break;
      }
    }
  return info;
}

void apply_limits_profile(DeviceInfo& d, const std::string& profile) {
  if (profile.empty() || profile == "device") return;
  if (profile != "mobile") throw Error("the limits profile must be 'mobile' or 'device', not '" + profile + "'");
  d.max_storage_buffer_range = std::min<uint64_t>(d.max_storage_buffer_range, 128ull << 20);
  d.max_compute_shared_memory = std::min(d.max_compute_shared_memory, 16384u);
  d.max_workgroup_invocations = std::min(d.max_workgroup_invocations, 256u);
  for (int i = 0; i < 3; ++i) d.max_workgroup_size[i] = std::min(d.max_workgroup_size[i], i < 2 ? 256u : 64u);
  d.storage_buffer_16bit = d.storage_buffer_8bit = false;
  d.subgroup_arithmetic = false;
  d.integer_dot_product = d.integer_dot_product_accelerated = false;
  d.cooperative_matrix = false;
  d.limits_profile = profile;
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

std::string format_version(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string vendor_name(uint32_t id) {
  switch (id) {
    case 0x1002: return "AMD";
    case 0x10DE: return "NVIDIA";
    case 0x8086: return "Intel";
    case 0x13B5: return "ARM";
    case 0x5143: return "Qualcomm";
    case 0x1010: return "ImgTec";
    case 0x106B: return "Apple";
    case 0x10005: return "Mesa";
    default: {
      char buf[16];
      std::snprintf(buf, sizeof buf, "0x%04x", id);
      return buf;
    }
  }
}

std::string format_driver_version(const DeviceInfo& info) {
  const uint32_t v = info.driver_version;
  char buf[64];
  if (info.vendor_id == 0x10DE)  // NVIDIA packs 10.8.8.6 bits
    std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff, v & 0x3f);
  else
    std::snprintf(buf, sizeof buf, "%s", format_version(v).c_str());
  return buf;
}

int device_preference(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

uint32_t select_device(const std::vector<DeviceInfo>& devices, const std::string& spec) {
  if (devices.empty()) throw Error("no Vulkan device found; install a GPU driver or Mesa's lavapipe (mesa-vulkan-drivers)");
  auto list = [&] {
    std::string s;
    for (auto& d : devices) s += "\n  " + std::to_string(d.index) + ": " + d.name;
    return s;
  };
  auto usable = [](const DeviceInfo& d) { return d.compute_queue_family != UINT32_MAX; };
  if (spec.empty()) {
    int best = -1;
    for (auto& d : devices)
      if (usable(d) && (best < 0 || device_preference(d.type) > device_preference(devices[best].type)))
        best = int(d.index);
    if (best < 0) throw Error("no Vulkan device has a compute queue; devices:" + list());
    return uint32_t(best);
  }
  if (std::all_of(spec.begin(), spec.end(), ::isdigit)) {
    unsigned long i = std::stoul(spec);
    if (i >= devices.size()) throw Error("device index " + spec + " is out of range; devices:" + list());
    if (!usable(devices[i])) throw Error("device " + spec + " has no compute queue");
    return uint32_t(i);
  }
  auto lower = [](std::string s) {
    for (auto& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (auto& d : devices)
    if (usable(d) && lower(d.name).find(lower(spec)) != std::string::npos) return d.index;
  throw Error("no Vulkan device matches '" + spec + "'; devices:" + list());
}

Capabilities Capabilities::from(const DeviceInfo& info, uint64_t max_buffer_range) {
  Capabilities c;
  c.f16_storage = info.storage_buffer_16bit && !env_flag("VKLLM_DISABLE_F16");
  c.subgroup_arithmetic = info.subgroup_arithmetic && !env_flag("VKLLM_DISABLE_SUBGROUP");
  c.subgroup_size_control = info.subgroup_size_control;
  c.one_subgroup_workgroups = c.subgroup_arithmetic && info.min_subgroup_size != 0 &&
                              info.min_subgroup_size == info.max_subgroup_size && info.subgroup_size == info.max_subgroup_size;
  c.timestamps = info.timestamps;
  const std::string kernels = env_string("VKLLM_KERNELS").value_or("");
  if (!kernels.empty() && kernels != "gpu" && kernels != "cpu")
    throw Error("VKLLM_KERNELS must be 'gpu' or 'cpu', not '" + kernels + "'");
  const bool cpu_shapes = kernels.empty() ? info.type == VK_PHYSICAL_DEVICE_TYPE_CPU : kernels == "cpu";
  c.workgroup_barriers_expensive = cpu_shapes;
  c.max_workgroup_barriers = info.driver_id == VK_DRIVER_ID_MESA_LLVMPIPE ? 65536 : 0;
  if (cpu_shapes) {
    // lavapipe runs LP_NUM_THREADS threads, by default one per CPU.
    const auto lp_threads = info.driver_id == VK_DRIVER_ID_MESA_LLVMPIPE ? env_u64("LP_NUM_THREADS") : std::nullopt;
    c.concurrent_workgroups = uint32_t(std::max<uint64_t>(1, lp_threads ? *lp_threads : std::thread::hardware_concurrency()));
  }
  c.subgroup_size = std::max(1u, info.subgroup_size);
  c.max_allocation = info.max_memory_allocation_size ? info.max_memory_allocation_size : (1ull << 30);
  c.max_buffer_range = std::min<uint64_t>(info.max_storage_buffer_range, c.max_allocation);
  if (auto cap = env_u64("VKLLM_MAX_BUFFER_RANGE")) {
    if (*cap < 4096) throw Error("VKLLM_MAX_BUFFER_RANGE must be at least 4096 bytes");
    c.max_buffer_range = std::min(c.max_buffer_range, *cap);
  }
  if (max_buffer_range) {
    if (max_buffer_range < 4096) throw Error("a device's max_buffer_range must be at least 4096 bytes");
    c.max_buffer_range = std::min(c.max_buffer_range, max_buffer_range);
  }
  c.storage_offset_alignment = std::max(16u, info.min_storage_buffer_offset_alignment);
  c.texel_offset_alignment = std::max(16u, info.min_texel_buffer_offset_alignment);
  c.texel_reads = cpu_shapes && uint64_t(info.max_texel_buffer_elements) * 16 >= c.max_buffer_range;
  const std::string int_dot = env_string("VKLLM_INT_DOT").value_or("");
  if (!int_dot.empty() && int_dot != "0" && int_dot != "1") throw Error("VKLLM_INT_DOT must be 0 or 1, not '" + int_dot + "'");
  c.integer_dot_product = info.integer_dot_product && (int_dot.empty() ? info.integer_dot_product_accelerated : int_dot == "1");
  c.max_shared_memory = info.max_compute_shared_memory;
  c.max_workgroup_invocations = info.max_workgroup_invocations;
  c.max_workgroup_count_x = info.max_workgroup_count[0];
  // Integrated GPUs and CPU devices share memory with the host: tensors are mapped directly.
  // (Discrete GPUs with resizable BAR also expose such memory, but reads through it are slow.)
  c.unified_memory = info.host_visible_device_memory && !env_flag("VKLLM_FORCE_STAGING") &&
                     (info.type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU || info.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
  return c;
}

std::string Capabilities::describe() const {
  std::ostringstream s;
  s << "f16_storage=" << f16_storage << " subgroup_arithmetic=" << subgroup_arithmetic
    << " subgroup_size=" << subgroup_size << " one_subgroup_workgroups=" << one_subgroup_workgroups
    << " unified_memory=" << unified_memory
    << " workgroup_barriers_expensive=" << workgroup_barriers_expensive << " texel_reads=" << texel_reads
    << " integer_dot_product=" << integer_dot_product << " concurrent_workgroups=" << concurrent_workgroups
    << " max_buffer_range=" << max_buffer_range;
  return s.str();
}

}  // namespace vkllm
