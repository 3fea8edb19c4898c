#include "runtime/device.h"

#include <algorithm>
#include <cstring>

#include "runtime/env.h"
#include "runtime/error.h"
#include "runtime/pipeline.h"

namespace vkllm {

DeviceOptions::DeviceOptions()
    : select(env_string("VKLLM_DEVICE").value_or("")),
      limits(env_string("VKLLM_LIMITS").value_or("")),
      memory_budget(env_bytes("VKLLM_MEMORY_BUDGET").value_or(0)) {}

std::vector<DeviceInfo> enumerate_devices(Instance& instance, const std::string& limits) {
  std::vector<DeviceInfo> out;
  auto physical = instance.physical_devices();
  for (uint32_t i = 0; i < physical.size(); ++i) {
    out.push_back(query_device_info(physical[i], i));
    apply_limits_profile(out.back(), limits);
  }
  return out;
}

Device::Device(DeviceOptions options) : instance_(std::make_unique<Instance>(options.instance)) {
  auto devices = enumerate_devices(*instance_, options.limits);
  info_ = devices[select_device(devices, options.select)];
  caps_ = Capabilities::from(info_, options.max_buffer_range);

  const uint32_t api = std::min(info_.api_version, instance_->api_version());
  std::vector<const char*> extensions;
  auto want = [&](const char* ext, bool core_since) {
    if (!core_since && info_.has_extension(ext)) extensions.push_back(ext);
  };
  const bool v12 = api >= VK_API_VERSION_1_2, v13 = api >= VK_API_VERSION_1_3;
  want(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME, v12);
  want(VK_KHR_8BIT_STORAGE_EXTENSION_NAME, v12);
  want(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME, v13);
  if (caps_.integer_dot_product) want(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME, v13);
  if (info_.has_extension("VK_KHR_portability_subset")) extensions.push_back("VK_KHR_portability_subset");

  // Enable exactly the features the capabilities use.
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  VkPhysicalDeviceSubgroupSizeControlFeaturesEXT sgc{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES_EXT};
  VkPhysicalDeviceShaderIntegerDotProductFeaturesKHR dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES_KHR};
  void** tail = &features.pNext;
  auto chain = [&tail](auto& s) {
    *tail = &s;
    tail = &s.pNext;
  };
  chain(s16);
  s16.storageBuffer16BitAccess = caps_.f16_storage;
  if (caps_.subgroup_size_control) {
    chain(sgc);
    sgc.subgroupSizeControl = VK_TRUE;
    sgc.computeFullSubgroups = VK_TRUE;
  }
  if (caps_.integer_dot_product) {
    chain(dot);
    dot.shaderIntegerDotProduct = VK_TRUE;
  }

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo qi{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qi.queueFamilyIndex = info_.compute_queue_family;
  qi.queueCount = 1;
  qi.pQueuePriorities = &priority;
  VkDeviceCreateInfo di{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  di.pNext = &features;
  di.queueCreateInfoCount = 1;
  di.pQueueCreateInfos = &qi;
  di.enabledExtensionCount = uint32_t(extensions.size());
  di.ppEnabledExtensionNames = extensions.data();
  VKLLM_CHECK(vkCreateDevice(info_.physical, &di, nullptr, &device_));
  vkGetDeviceQueue(device_, info_.compute_queue_family, 0, &queue_);

  VkCommandPoolCreateInfo pi{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pi.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pi.queueFamilyIndex = info_.compute_queue_family;
  VKLLM_CHECK(vkCreateCommandPool(device_, &pi, nullptr, &pool_));
  VkFenceCreateInfo fi{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VKLLM_CHECK(vkCreateFence(device_, &fi, nullptr, &fence_));

  allocator_ = std::make_unique<Allocator>(device_, info_, caps_, options.memory_budget);
  pipelines_ = std::make_unique<Pipelines>(*this);
}

Device::~Device() {
  if (device_) vkDeviceWaitIdle(device_);
  pipelines_.reset();
  allocator_.reset();
  if (fence_) vkDestroyFence(device_, fence_, nullptr);
  if (pool_) vkDestroyCommandPool(device_, pool_, nullptr);
  if (device_) vkDestroyDevice(device_, nullptr);
}

Tensor Device::tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name) {
  return allocate_tensor(dtype, rows, cols, name, MemoryKind::Device);
}

Tensor Device::io_tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name) {
  return allocate_tensor(dtype, rows, cols, name, caps_.unified_memory ? MemoryKind::Device : MemoryKind::Host);
}

Tensor Device::allocate_tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name, MemoryKind kind) {
  if (rows < 0 || cols < 0) throw Error("negative tensor shape for '" + std::string(name) + "'");
  Tensor t;
  t.dtype = dtype;
  t.rows = rows;
  t.cols = cols;
  t.row_stride = cols;
  uint64_t row = 0, bytes = 0;
  if (__builtin_mul_overflow(uint64_t(cols), uint64_t(dtype_size(dtype)), &row) ||
      __builtin_mul_overflow(std::max<uint64_t>(row, 4), uint64_t(rows), &bytes))
    throw Error("tensor '" + std::string(name) + "' of " + std::to_string(rows) + " x " + std::to_string(cols) +
                " elements has more bytes than 64 bits count");
  row = std::max<uint64_t>(row, 4);
  t.storage = allocator_->allocate(bytes, row, kind, name);
  return t;
}

void Device::check_host_size(const Tensor& t, size_t bytes) const {
  if (bytes != uint64_t(t.numel()) * dtype_size(t.dtype))
    throw Error("host data of " + std::to_string(bytes) + " bytes does not match " + t.describe());
}

void Device::for_each_piece(const Tensor& t,
                            const std::function<void(const Chunk&, uint64_t, uint64_t, uint64_t)>& fn) const {
  const uint64_t row_bytes = t.row_bytes();
  // Contiguous views move as one range; strided views row by row.
  const int64_t runs = t.contiguous() ? (t.numel() ? 1 : 0) : t.rows;
  const uint64_t run_bytes = t.contiguous() ? uint64_t(t.numel()) * dtype_size(t.dtype) : row_bytes;
  for (int64_t r = 0; r < runs; ++r) {
    uint64_t src = t.row_byte(r), host = uint64_t(r) * row_bytes, left = run_bytes;
    while (left) {
      const Chunk& c = t.storage->chunks()[t.storage->chunk_index(src)];
      const uint64_t n = std::min(left, c.first_byte + c.size - src);
      fn(c, src - c.first_byte, host, n);
      src += n, host += n, left -= n;
    }
  }
}

void Device::transfer(const Tensor& t, void* host, bool to_device) {
  if (!t.storage) throw Error("transfer to or from an unallocated tensor");
  auto* bytes = static_cast<std::byte*>(host);
  if (t.storage->host_visible()) {
    // Every submission ends with a host-access barrier and is waited for, so mapped memory
    // is current here.
    for_each_piece(t, [&](const Chunk& c, uint64_t off, uint64_t h, uint64_t n) {
      if (to_device)
        std::memcpy(c.mapped + off, bytes + h, n);
      else
        std::memcpy(bytes + h, c.mapped + off, n);
    });
    return;
  }
  // Through a staging buffer.
  const uint64_t total = uint64_t(t.numel()) * dtype_size(t.dtype);
  // The window is one chunk: at most 64 MiB and within what one buffer range may hold.
  const uint64_t window = std::max<uint64_t>(
      4, std::min({total, uint64_t(64) << 20, std::min(caps_.max_buffer_range, caps_.max_allocation) - 16}));
  auto staging = allocator_->allocate(window, window, MemoryKind::Host, "staging");
  const Chunk& s = staging->chunks()[0];
  struct Piece { const Chunk* c; uint64_t off, host, n; };
  std::vector<Piece> pieces;
  for_each_piece(t, [&](const Chunk& c, uint64_t off, uint64_t h, uint64_t n) {
    for (uint64_t done = 0; done < n;) {  // split pieces so none exceeds the window
      const uint64_t m = std::min(n - done, window);
      pieces.push_back({&c, off + done, h + done, m});
      done += m;
    }
  });
  for (size_t i = 0; i < pieces.size();) {
    std::vector<VkBufferCopy> regions;
    std::vector<Piece> batch;
    uint64_t used = 0;
    for (; i < pieces.size() && used + pieces[i].n <= window; ++i) {
      batch.push_back(pieces[i]);
      used += pieces[i].n;
    }
    uint64_t at = 0;
    for (auto& p : batch) {
      if (to_device) std::memcpy(s.mapped + at, bytes + p.host, p.n);
      at += p.n;
    }
    run_commands([&](VkCommandBuffer cb) {
      uint64_t o = 0;
      for (auto& p : batch) {
        VkBufferCopy region{to_device ? s.offset + o : p.c->offset + p.off, to_device ? p.c->offset + p.off : s.offset + o, p.n};
        vkCmdCopyBuffer(cb, to_device ? s.buffer : p.c->buffer, to_device ? p.c->buffer : s.buffer, 1, &region);
        o += p.n;
      }
    });
    if (!to_device) {
      at = 0;
      for (auto& p : batch) {
        std::memcpy(bytes + p.host, s.mapped + at, p.n);
        at += p.n;
      }
    }
  }
}

void Device::copy(const Tensor& src, const Tensor& dst) {
  require(src.storage && dst.storage && src.dtype == dst.dtype && src.numel() == dst.numel() && src.contiguous() &&
              dst.contiguous(),
          "copy: " + src.describe() + " to " + dst.describe() + ": needs contiguous tensors of one dtype and size");
  struct Piece { const Chunk* c; uint64_t off, at, n; };  // `at`: byte within the tensor
  auto pieces_of = [&](const Tensor& t) {
    std::vector<Piece> out;
    for_each_piece(t, [&](const Chunk& c, uint64_t off, uint64_t at, uint64_t n) { out.push_back({&c, off, at, n}); });
    return out;
  };
  const std::vector<Piece> from = pieces_of(src), to = pieces_of(dst);
  run_commands([&](VkCommandBuffer cb) {
    // Walk both piece lists: each region lies in one chunk of each tensor.
    size_t i = 0, j = 0;
    for (uint64_t at = 0; i < from.size() && j < to.size();) {
      const Piece &f = from[i], &t = to[j];
      const uint64_t end = std::min(f.at + f.n, t.at + t.n);
      const VkBufferCopy region{f.c->offset + f.off + (at - f.at), t.c->offset + t.off + (at - t.at), end - at};
      vkCmdCopyBuffer(cb, f.c->buffer, t.c->buffer, 1, &region);
      at = end;
      if (at == f.at + f.n) ++i;
      if (at == t.at + t.n) ++j;
    }
  });
}

void Device::upload(const Tensor& t, const void* data) { transfer(t, const_cast<void*>(data), true); }
void Device::download(const Tensor& t, void* data) { transfer(t, data, false); }

void Device::barrier_after_previous_work(VkCommandBuffer cb) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                    VK_ACCESS_TRANSFER_WRITE_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT | VK_PIPELINE_STAGE_HOST_BIT,
                       VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT, 0, 1, &b, 0, nullptr, 0,
                       nullptr);
}

void Device::barrier_before_host_access(VkCommandBuffer cb) {
  VkMemoryBarrier b{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  b.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_HOST_READ_BIT | VK_ACCESS_HOST_WRITE_BIT;
  vkCmdPipelineBarrier(cb, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                       VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
}

void Device::run_commands(const std::function<void(VkCommandBuffer)>& record) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VkCommandBuffer cb;
  VKLLM_CHECK(vkAllocateCommandBuffers(device_, &ai, &cb));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  try {
    VKLLM_CHECK(vkBeginCommandBuffer(cb, &bi));
    barrier_after_previous_work(cb);
    record(cb);
    barrier_before_host_access(cb);
    VKLLM_CHECK(vkEndCommandBuffer(cb));
    submit_and_wait(cb);
  } catch (...) {
    vkFreeCommandBuffers(device_, pool_, 1, &cb);
    throw;
  }
  vkFreeCommandBuffers(device_, pool_, 1, &cb);
}

void Device::submit_and_wait(VkCommandBuffer cb) {
  VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  si.commandBufferCount = 1;
  si.pCommandBuffers = &cb;
  ++submissions_;
  VKLLM_CHECK(vkQueueSubmit(queue_, 1, &si, fence_));
  VKLLM_CHECK(vkWaitForFences(device_, 1, &fence_, VK_TRUE, UINT64_MAX));
  VKLLM_CHECK(vkResetFences(device_, 1, &fence_));
}

}  // namespace vkllm
