#pragma once
// A Device is one opened Vulkan device with its compute queue, allocator and pipeline cache.
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "runtime/capabilities.h"
#include "runtime/instance.h"
#include "runtime/memory.h"
#include "runtime/tensor.h"

namespace vkllm {

class Pipelines;

struct DeviceOptions {
  std::string select;  // index or name substring; default VKLLM_DEVICE, else the best by type
  InstanceOptions instance;
  // Nonzero: storage buffers are treated as no larger than this many bytes (as
  // VKLLM_MAX_BUFFER_RANGE, for embedders that set no environment).
  uint64_t max_buffer_range = 0;
  // A limits profile (apply_limits_profile): default VKLLM_LIMITS, else none.
  std::string limits;
  // Nonzero: the most device memory vkllm may hold, in bytes (Allocator); default
  // VKLLM_MEMORY_BUDGET ("512M", "2G"), else no budget.
  uint64_t memory_budget = 0;
  DeviceOptions();
};

// Every physical device the instance sees, with its properties lowered to `limits`.
std::vector<DeviceInfo> enumerate_devices(Instance& instance, const std::string& limits);

class Device {
 public:
  explicit Device(DeviceOptions options = {});
  ~Device();
  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;

  Instance& instance() { return *instance_; }
  const DeviceInfo& info() const { return info_; }
  const Capabilities& caps() const { return caps_; }
  VkDevice handle() const { return device_; }
  VkQueue queue() const { return queue_; }
  VkCommandPool command_pool() const { return pool_; }
  Allocator& allocator() { return *allocator_; }
  Pipelines& pipelines() { return *pipelines_; }

  Tensor tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name = "tensor");
  // In memory the host maps, which shaders read and write directly: a step's inputs and outputs
  // on devices whose own memory is not mapped, so that running it needs no transfers. On
  // unified-memory devices this is tensor().
  Tensor io_tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name = "io");

  // Copies rows x cols elements between host memory (packed row-major) and a tensor view.
  void upload(const Tensor& t, const void* data);
  void download(const Tensor& t, void* data);
  template <class T>
  void upload(const Tensor& t, std::span<const T> data) {
    check_host_size(t, data.size_bytes());
    upload(t, data.data());
  }
  template <class T>
  std::vector<T> download(const Tensor& t) {
    std::vector<T> out(size_t(t.numel() * dtype_size(t.dtype) / sizeof(T)));
    check_host_size(t, out.size() * sizeof(T));
    download(t, out.data());
    return out;
  }

  // dst = src on the device: contiguous tensors of the same dtype and element count.
  void copy(const Tensor& src, const Tensor& dst);

  // Records `record` into a one-time command buffer, submits it and waits. The buffer starts
  // with a barrier against all earlier device work and ends with one making writes host-visible.
  void run_commands(const std::function<void(VkCommandBuffer)>& record);
  void submit_and_wait(VkCommandBuffer cb);
  uint64_t submissions() const { return submissions_; }  // queue submissions so far
  uint64_t dispatches() const { return dispatches_; }    // compute dispatches submitted so far (graphs)
  void count_dispatches(uint64_t n) { dispatches_ += n; }

  // Barriers every command buffer vkllm records begins and ends with.
  static void barrier_after_previous_work(VkCommandBuffer cb);
  static void barrier_before_host_access(VkCommandBuffer cb);

 private:
  Tensor allocate_tensor(DType dtype, int64_t rows, int64_t cols, std::string_view name, MemoryKind kind);
  void check_host_size(const Tensor& t, size_t bytes) const;
  // Calls fn(chunk, chunk_byte_offset, host_byte_offset, bytes) for each contiguous piece of `t`.
  void for_each_piece(const Tensor& t, const std::function<void(const Chunk&, uint64_t, uint64_t, uint64_t)>& fn) const;
  void transfer(const Tensor& t, void* host, bool to_device);

  std::unique_ptr<Instance> instance_;
  DeviceInfo info_;
  Capabilities caps_;
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
  std::unique_ptr<Allocator> allocator_;
  std::unique_ptr<Pipelines> pipelines_;
  uint64_t submissions_ = 0, dispatches_ = 0;
};

}  // namespace vkllm
