#pragma once
// Device memory: large VkDeviceMemory blocks, each with one VkBuffer over it, suballocated
// for tensors. A tensor larger than one descriptor may address (Capabilities::max_buffer_range)
// is stored as several chunks, each holding whole rows, so a shader always sees whole rows.
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <vulkan/vulkan.h>

namespace vkllm {

struct Capabilities;

// "512 B", "1.5 KiB", "136.2 MiB": sizes in messages and reports.
std::string human_bytes(uint64_t bytes);

struct DeviceInfo;
class Allocator;

struct Chunk {
  VkBuffer buffer = VK_NULL_HANDLE;  // the block's buffer
  uint64_t offset = 0;               // byte offset of the chunk inside `buffer`
  uint64_t size = 0;                 // bytes of the buffer's data in this chunk
  uint64_t range = 0;                // bytes a descriptor covers: size rounded up to 16, so
                                     // shaders may load whole words and vectors at the end
  uint64_t first_byte = 0;           // where the chunk starts within its Buffer
  std::byte* mapped = nullptr;       // host address when the memory is host-visible
};

enum class MemoryKind { Device, Host };  // Host: host-visible and coherent (staging, step values)

// The memory of one tensor. Freed when the last Tensor viewing it goes away.
class Buffer {
 public:
  ~Buffer();
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  uint64_t size() const { return size_; }
  const std::vector<Chunk>& chunks() const { return chunks_; }
  size_t chunk_index(uint64_t byte) const;  // the chunk holding `byte`
  bool host_visible() const { return !chunks_.empty() && chunks_[0].mapped; }
  const std::string& name() const { return name_; }
  // A view of chunk i as 16-byte RGBA32UI texels (Access::ReadTexels), made on first use and
  // owned by the buffer.
  VkBufferView texel_view(size_t chunk) const;

 private:
  friend class Allocator;
  Buffer() = default;
  mutable std::vector<VkBufferView> texel_views_;  // per chunk; null until asked for
  Allocator* allocator_ = nullptr;
  uint64_t size_ = 0;
  std::string name_;
  std::vector<Chunk> chunks_;
  std::vector<std::pair<size_t, uint64_t>> placements_;  // (block index, offset) per chunk
};

class Allocator {
 public:
  // `budget`: nonzero caps the device memory this allocator holds (all its blocks), so a model
  // that does not fit fails with an out-of-memory error naming the tensor, as on a smaller device.
  Allocator(VkDevice device, const DeviceInfo& info, const Capabilities& caps, uint64_t budget = 0);
  ~Allocator();
  Allocator(const Allocator&) = delete;
  Allocator& operator=(const Allocator&) = delete;

  // `unit_bytes`: chunks hold whole units (a row), so no unit straddles two chunks.
  std::shared_ptr<Buffer> allocate(uint64_t bytes, uint64_t unit_bytes, MemoryKind kind, std::string_view what);

  uint64_t bytes_in_use() const { return in_use_; }
  uint64_t device_memory() const { return device_memory_; }  // bytes of VkDeviceMemory held
  uint64_t budget() const { return budget_; }
  VkDevice device() const { return device_; }
  uint64_t allocations() const { return allocations_; }  // allocate() calls so far

 private:
  friend class Buffer;
  struct Block {
    VkDeviceMemory memory = VK_NULL_HANDLE;
    VkBuffer buffer = VK_NULL_HANDLE;
    uint64_t size = 0;         // bytes the buffer covers
    uint64_t memory_size = 0;  // bytes of the memory behind it (counted against the budget)
    std::byte* mapped = nullptr;
    MemoryKind kind = MemoryKind::Device;
    std::map<uint64_t, uint64_t> free;  // offset -> length
  };
  size_t new_block(uint64_t size, MemoryKind kind, std::string_view what, uint64_t needed);
  bool take(Block& b, uint64_t size, uint64_t& offset);
  void release(size_t block, uint64_t offset, uint64_t size);
  void destroy_block(Block& b);

  VkDevice device_;
  const DeviceInfo& info_;
  const Capabilities& caps_;
  uint32_t type_index_[2] = {};
  bool mapped_[2] = {};
  uint64_t heap_size_[2] = {};
  uint32_t heap_index_[2] = {};
  uint64_t block_size_ = 0, alignment_ = 256;
  uint64_t in_use_ = 0, allocations_ = 0;
  uint64_t budget_ = 0, device_memory_ = 0;
  std::vector<std::unique_ptr<Block>> blocks_;  // null once released
};

}  // namespace vkllm
