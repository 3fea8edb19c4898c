#include "runtime/memory.h"

#include <algorithm>
#include <cstdio>

#include "runtime/capabilities.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) / a * a; }

}  // namespace

std::string human_bytes(uint64_t b) {
  char buf[32];
  const char* unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = double(b);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, unit[u]);
  return buf;
}

Buffer::~Buffer() {
  if (!allocator_) return;
  for (VkBufferView v : texel_views_)
    if (v) vkDestroyBufferView(allocator_->device(), v, nullptr);
  for (size_t i = 0; i < chunks_.size(); ++i)
    allocator_->release(placements_[i].first, placements_[i].second, chunks_[i].range);
}

VkBufferView Buffer::texel_view(size_t chunk) const {
  if (texel_views_.empty()) texel_views_.resize(chunks_.size(), VK_NULL_HANDLE);
  VkBufferView& view = texel_views_.at(chunk);
  if (!view) {
    const Chunk& c = chunks_[chunk];
    VkBufferViewCreateInfo vi{VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO};
    vi.buffer = c.buffer;
    vi.format = VK_FORMAT_R32G32B32A32_UINT;
    vi.offset = c.offset;
    vi.range = c.range;  // a multiple of 16 (Allocator's padding)
    VKLLM_CHECK(vkCreateBufferView(allocator_->device(), &vi, nullptr, &view));
  }
  return view;
}

size_t Buffer::chunk_index(uint64_t byte) const {
  auto it = std::upper_bound(chunks_.begin(), chunks_.end(), byte,
                             [](uint64_t b, const Chunk& c) { return b < c.first_byte; });
  if (it == chunks_.begin() || byte >= size_) throw Error("byte " + std::to_string(byte) + " is outside buffer '" + name_ + "'");
  return size_t(it - chunks_.begin()) - 1;
}

Allocator::Allocator(VkDevice device, const DeviceInfo& info, const Capabilities& caps, uint64_t budget)
    : device_(device), info_(info), caps_(caps), budget_(budget) {
  // Probe a buffer's requirements to learn which memory types can back storage buffers.
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = 4096;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
             (caps_.texel_reads ? VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT : 0);
  VkBuffer probe;
  VKLLM_CHECK(vkCreateBuffer(device_, &bi, nullptr, &probe));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, probe, &req);
  vkDestroyBuffer(device_, probe, nullptr);

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(info.physical, &mem);
  auto find = [&](VkMemoryPropertyFlags want, VkMemoryPropertyFlags avoid) -> int {
    for (uint32_t i = 0; i < mem.memoryTypeCount; ++i) {
      auto f = mem.memoryTypes[i].propertyFlags;
      if ((req.memoryTypeBits & (1u << i)) && (f & want) == want && !(f & avoid)) return int(i);
    }
    return -1;
  };
  const auto kLocal = VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT;
  const auto kHost = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  // Host memory is read back as well as written: cached where the device offers it.
  int local = find(kLocal, 0), host = find(kHost | VK_MEMORY_PROPERTY_HOST_CACHED_BIT, 0), both = find(kLocal | kHost, 0);
  if (host < 0) host = find(kHost, 0);
  if (host < 0) throw Error("device '" + info.name + "' has no host-visible coherent memory type");
  if (local < 0) local = host;
  const bool direct = caps.unified_memory && both >= 0;
  type_index_[int(MemoryKind::Device)] = uint32_t(direct ? both : local);
  type_index_[int(MemoryKind::Host)] = uint32_t(host);
  mapped_[int(MemoryKind::Device)] = direct;
  mapped_[int(MemoryKind::Host)] = true;
  for (int k = 0; k < 2; ++k) {
    heap_index_[k] = mem.memoryTypes[type_index_[k]].heapIndex;
    heap_size_[k] = mem.memoryHeaps[heap_index_[k]].size;
  }
  alignment_ = std::max<uint64_t>({req.alignment, caps.storage_offset_alignment, 64,
                                   caps.texel_reads ? caps.texel_offset_alignment : 1});
  block_size_ = std::min<uint64_t>(256ull << 20, caps.max_allocation);
}

Allocator::~Allocator() {
  for (auto& b : blocks_)
    if (b) destroy_block(*b);
}

void Allocator::destroy_block(Block& b) {
  device_memory_ -= b.memory_size;
  if (b.mapped) vkUnmapMemory(device_, b.memory);
  vkDestroyBuffer(device_, b.buffer, nullptr);
  vkFreeMemory(device_, b.memory, nullptr);
}

size_t Allocator::new_block(uint64_t size, MemoryKind kind, std::string_view what, uint64_t needed) {
  auto b = std::make_unique<Block>();
  b->size = size;
  b->kind = kind;
  VkBufferCreateInfo bi{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bi.size = size;
  bi.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
             (caps_.texel_reads ? VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT : 0);
  VKLLM_CHECK(vkCreateBuffer(device_, &bi, nullptr, &b->buffer));
  VkMemoryRequirements req;
  vkGetBufferMemoryRequirements(device_, b->buffer, &req);

  VkPhysicalDeviceMemoryProperties mem;
  vkGetPhysicalDeviceMemoryProperties(info_.physical, &mem);
  const uint32_t type = type_index_[int(kind)];
  const uint32_t heap = mem.memoryTypes[type].heapIndex;

  if (budget_ && device_memory_ + req.size > budget_) {
    vkDestroyBuffer(device_, b->buffer, nullptr);
    throw DeviceError(VK_ERROR_OUT_OF_DEVICE_MEMORY,
                      "out of memory: '" + std::string(what) + "' (" + human_bytes(needed) +
                          ") does not fit in the memory budget of " + human_bytes(budget_) + ", of which vkllm holds " +
                          human_bytes(device_memory_) + " (--memory-budget, VKLLM_MEMORY_BUDGET)");
  }
  VkMemoryAllocateInfo ai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  ai.allocationSize = req.size;
  ai.memoryTypeIndex = type;
  VkResult r = vkAllocateMemory(device_, &ai, nullptr, &b->memory);
  if (r != VK_SUCCESS) {
    vkDestroyBuffer(device_, b->buffer, nullptr);
    throw DeviceError(r, "out of memory: could not allocate " + human_bytes(req.size) + " for '" + std::string(what) +
                             "' from heap " + std::to_string(heap) + " (" + human_bytes(mem.memoryHeaps[heap].size) + ", " +
                             human_bytes(device_memory_) + " held by vkllm): " + vk_result_name(r));
  }
  b->memory_size = req.size;
  device_memory_ += req.size;
  VKLLM_CHECK(vkBindBufferMemory(device_, b->buffer, b->memory, 0));
  if (mapped_[int(kind)]) {
    void* p = nullptr;
    VKLLM_CHECK(vkMapMemory(device_, b->memory, 0, VK_WHOLE_SIZE, 0, &p));
    b->mapped = static_cast<std::byte*>(p);
  }
  b->free[0] = size;
  blocks_.push_back(std::move(b));
  return blocks_.size() - 1;
}

bool Allocator::take(Block& b, uint64_t size, uint64_t& offset) {
  for (auto it = b.free.begin(); it != b.free.end(); ++it) {
    const uint64_t start = align_up(it->first, alignment_);
    const uint64_t end = it->first + it->second;
    if (start + size > end) continue;
    const uint64_t free_start = it->first;
    b.free.erase(it);
    if (start > free_start) b.free[free_start] = start - free_start;
    if (end > start + size) b.free[start + size] = end - (start + size);
    offset = start;
    return true;
  }
  return false;
}

void Allocator::release(size_t index, uint64_t offset, uint64_t size) {
  Block& b = *blocks_[index];
  in_use_ -= size;
  auto it = b.free.emplace(offset, size).first;
  if (auto next = std::next(it); next != b.free.end() && it->first + it->second == next->first) {
    it->second += next->second;
    b.free.erase(next);
  }
  if (it != b.free.begin()) {
    auto prev = std::prev(it);
    if (prev->first + prev->second == it->first) {
      prev->second += it->second;
      b.free.erase(it);
      it = prev;
    }
  }
  if (it->first == 0 && it->second == b.size) {  // empty: give the memory back
    destroy_block(b);
    blocks_[index].reset();
  }
}

std::shared_ptr<Buffer> Allocator::allocate(uint64_t bytes, uint64_t unit_bytes, MemoryKind kind, std::string_view what) {
  ++allocations_;
  if (bytes == 0) bytes = unit_bytes = 4;  // empty tensors still get a bindable buffer
  if (unit_bytes == 0 || bytes % unit_bytes != 0)
    throw Error("allocation of " + std::to_string(bytes) + " bytes for '" + std::string(what) +
                "' is not a whole number of " + std::to_string(unit_bytes) + "-byte rows");
  const uint64_t limit = std::min(caps_.max_buffer_range, caps_.max_allocation);
  if (unit_bytes > limit)
    throw Error("one row of '" + std::string(what) + "' is " + std::to_string(unit_bytes) +
                " bytes, more than this device can address in one buffer (" + std::to_string(limit) + ")");
  constexpr uint64_t kPad = 16;
  const uint64_t chunk_max = (limit - kPad) / unit_bytes * unit_bytes;

  if (bytes > heap_size_[int(kind)])
    throw Error("out of memory: '" + std::string(what) + "' needs " + human_bytes(bytes) + " but memory heap " +
                std::to_string(heap_index_[int(kind)]) + " holds only " + human_bytes(heap_size_[int(kind)]));

  std::shared_ptr<Buffer> buf(new Buffer());
  buf->allocator_ = this;
  buf->size_ = bytes;
  buf->name_ = std::string(what);
  for (uint64_t done = 0; done < bytes;) {
    const uint64_t size = std::min(chunk_max, bytes - done);
    const uint64_t range = align_up(size, kPad);
    uint64_t offset = 0;
    size_t block = SIZE_MAX;
    for (size_t i = 0; i < blocks_.size() && block == SIZE_MAX; ++i)
      if (blocks_[i] && blocks_[i]->kind == kind && take(*blocks_[i], range, offset)) block = i;
    if (block == SIZE_MAX) {
      // Under a budget, blocks are at most a sixteenth of it (so device and host blocks can share
      // it) and the last one shrinks to what is left rather than failing early.
      const uint64_t needed = align_up(range, alignment_);
      uint64_t size = std::max(needed, block_size_);
      if (budget_) {
        const uint64_t left = budget_ > device_memory_ ? (budget_ - device_memory_) / alignment_ * alignment_ : 0;
        size = std::max(needed, std::min({block_size_, align_up(budget_ / 16, alignment_), left}));
      }
      block = new_block(size, kind, what, needed);
      take(*blocks_[block], range, offset);
    }
    in_use_ += range;
    const Block& b = *blocks_[block];
    buf->chunks_.push_back({b.buffer, offset, size, range, done, b.mapped ? b.mapped + offset : nullptr});
    buf->placements_.emplace_back(block, offset);
    done += size;
  }
  return buf;
}

}  // namespace vkllm
