#include "runtime/graph.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "runtime/device.h"
#include "runtime/env.h"
#include "runtime/error.h"

namespace vkllm {

Binding bind_rows(const Tensor& t, int64_t first, int64_t count) {
  if (!t.storage) throw Error("binding an unallocated tensor");
  if (first < 0 || count < 0 || first + count > t.rows)
    throw Error("rows [" + std::to_string(first) + ", " + std::to_string(first + count) + ") are outside " + t.describe());
  Binding b;
  b.storage = t.storage;
  const uint64_t es = dtype_size(t.dtype);
  if (count == 0 || t.cols == 0) {  // nothing touched; bind something valid
    const uint64_t at = std::min(t.row_byte(first), t.storage->size() - 1);
    b.chunk = t.storage->chunk_index(at);
    const Chunk& c = t.storage->chunks()[b.chunk];
    b.begin = b.end = at - c.first_byte;
    b.elem_offset = uint32_t(b.begin / es);
    return b;
  }
  const uint64_t start = t.row_byte(first);
  const uint64_t stop = t.row_byte(first + count - 1) + t.row_bytes();
  b.chunk = t.storage->chunk_index(start);
  const Chunk& c = t.storage->chunks()[b.chunk];
  if (stop > c.first_byte + c.size)
    throw Error("rows [" + std::to_string(first) + ", " + std::to_string(first + count) + ") of " + t.describe() +
                " cross a chunk boundary; split the dispatch with split_rows()");
  b.begin = start - c.first_byte;
  b.end = stop - c.first_byte;
  b.elem_offset = uint32_t(b.begin / es);
  return b;
}

std::vector<RowSpan> split_rows(int64_t rows, std::initializer_list<const Tensor*> tensors) {
  std::vector<RowSpan> spans;
  for (int64_t r = 0; r < rows;) {
    int64_t end = rows;
    for (const Tensor* t : tensors) {
      if (!t || t->cols == 0 || t->storage->chunks().size() == 1 || t->row_stride == 0) continue;
      const int64_t es = dtype_size(t->dtype);
      const Chunk& c = t->storage->chunks()[t->storage->chunk_index(t->row_byte(r))];
      const int64_t chunk_end = int64_t(c.first_byte + c.size) / es;
      const int64_t last = (chunk_end - t->offset - t->cols) / t->row_stride;  // last row ending in this chunk
      if (last < r) throw Error("row " + std::to_string(r) + " of " + t->describe() + " straddles two chunks");
      end = std::min(end, last + 1);
    }
    spans.push_back({r, end - r});
    r = end;
  }
  return spans;
}

Groups groups_for(uint64_t invocations, uint32_t local_size, const Capabilities& caps) {
  const uint64_t n = (invocations + local_size - 1) / local_size;
  const uint64_t max_x = std::min<uint64_t>(caps.max_workgroup_count_x, 65535);
  if (n <= max_x) return {uint32_t(std::max<uint64_t>(n, 1)), 1, 1};
  const uint64_t y = (n + max_x - 1) / max_x;
  return {uint32_t((n + y - 1) / y), uint32_t(y), 1};
}

Graph::Graph(Device& device) : device_(device) {
  step_.dtype = DType::I32;
  step_.rows = 1;
  step_.cols = step_.row_stride = kStepSlots;
  step_.storage = device_.allocator().allocate(kStepSlots * 4, kStepSlots * 4, MemoryKind::Host, "step values");
  std::memset(step_.storage->chunks()[0].mapped, 0, kStepSlots * 4);
  profile_ = env_flag("VKLLM_PROFILE") && device_.caps().timestamps;
}

Graph::~Graph() {
  if (profile_ && !profile_table_.empty()) {
    double total = 0;
    std::vector<std::pair<std::string, OpTime>> rows(profile_table_.begin(), profile_table_.end());
    for (auto& [_, t] : rows) total += t.ms;
    std::sort(rows.begin(), rows.end(), [](auto& a, auto& b) { return a.second.ms > b.second.ms; });
    std::fprintf(stderr, "\n%-32s %10s %12s %12s %7s\n", "op", "calls", "total ms", "mean us", "share");
    for (auto& [name, t] : rows)
      std::fprintf(stderr, "%-32s %10llu %12.3f %12.2f %6.1f%%\n", name.c_str(), (unsigned long long)t.calls, t.ms,
                   1e3 * t.ms / double(t.calls), total > 0 ? 100.0 * t.ms / total : 0.0);
    std::fprintf(stderr, "%-32s %10s %12.3f\n", "total", "", total);
  }
  release_recording();
}

uint32_t Graph::step_param(uint32_t slot) {
  if (slot >= kStepSlots) throw Error("step slot " + std::to_string(slot) + " is out of range");
  return 0x80000000u | slot;
}

void Graph::set_step(uint32_t slot, uint32_t value) {
  if (slot >= kStepSlots) throw Error("step slot " + std::to_string(slot) + " is out of range");
  reinterpret_cast<uint32_t*>(step_.storage->chunks()[0].mapped)[slot] = value;
}

void Graph::dispatch(const Pipeline& pipeline, std::span<const Binding> bindings, const void* push,
                     uint32_t push_bytes, Groups groups) {
  const OpDecl& decl = *pipeline.decl;
  if (bindings.size() != decl.bindings.size())
    throw Error(std::string("op ") + decl.name + " declares " + std::to_string(decl.bindings.size()) +
                " bindings but was given " + std::to_string(bindings.size()));
  if (push_bytes != decl.push_bytes)
    throw Error(std::string("op ") + decl.name + " declares " + std::to_string(decl.push_bytes) +
                " push-constant bytes but was given " + std::to_string(push_bytes));

  std::vector<Range> mine;
  for (size_t i = 0; i < bindings.size(); ++i) {
    const Binding& b = bindings[i];
    if (b.begin == b.end) continue;
    // The descriptor covers the whole chunk, and so does what synchronization validation (and
    // a conservative driver) takes as touched: column views of one tensor count as overlapping.
    const Chunk& c = b.storage->chunks()[b.chunk];
    const Access a = decl.bindings[i];
    mine.push_back({c.buffer, c.offset, c.offset + c.range, a == Access::Write || a == Access::ReadWrite});
  }
  bool hazard = false;
  for (const Range& m : mine)
    for (const Range& p : pending_)
      if (m.buffer == p.buffer && m.begin < p.end && p.begin < m.end && (m.write || p.write)) hazard = true;
  if (hazard) {
    ++barriers_;
    pending_.clear();
  }
  pending_.insert(pending_.end(), mine.begin(), mine.end());

  Dispatch d{&pipeline, {bindings.begin(), bindings.end()}, {}, groups, hazard};
  d.push.assign(static_cast<const uint8_t*>(push), static_cast<const uint8_t*>(push) + push_bytes);
  dispatches_.push_back(std::move(d));
  recorded_ = false;
}

void Graph::release_recording() {
  VkDevice dev = device_.handle();
  if (cb_) vkFreeCommandBuffers(dev, device_.command_pool(), 1, &cb_);
  if (pool_) vkDestroyDescriptorPool(dev, pool_, nullptr);
  if (queries_) vkDestroyQueryPool(dev, queries_, nullptr);
  cb_ = VK_NULL_HANDLE;
  pool_ = VK_NULL_HANDLE;
  queries_ = VK_NULL_HANDLE;
}

void Graph::record() {
  release_recording();
  VkDevice dev = device_.handle();

  VkDescriptorPoolSize sizes[2] = {{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1}, {VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER, 0}};
  for (auto& d : dispatches_)
    for (Access a : d.pipeline->decl->bindings) ++sizes[a == Access::ReadTexels ? 1 : 0].descriptorCount;
  VkDescriptorPoolCreateInfo pi{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  pi.maxSets = uint32_t(dispatches_.size()) + 1;
  pi.poolSizeCount = sizes[1].descriptorCount ? 2 : 1;
  pi.pPoolSizes = sizes;
  VKLLM_CHECK(vkCreateDescriptorPool(dev, &pi, nullptr, &pool_));

  auto allocate_set = [&](VkDescriptorSetLayout layout) {
    VkDescriptorSetAllocateInfo ai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    ai.descriptorPool = pool_;
    ai.descriptorSetCount = 1;
    ai.pSetLayouts = &layout;
    VkDescriptorSet set;
    VKLLM_CHECK(vkAllocateDescriptorSets(dev, &ai, &set));
    return set;
  };
  // `access` per binding: storage buffers cover the whole chunk, texel buffers its view.
  auto write_set = [&](VkDescriptorSet set, std::span<const Binding> bindings, std::span<const Access> access) {
    std::vector<VkDescriptorBufferInfo> infos;
    std::vector<VkBufferView> views;
    std::vector<VkWriteDescriptorSet> writes;
    infos.reserve(bindings.size());
    views.reserve(bindings.size());
    for (uint32_t i = 0; i < bindings.size(); ++i) {
      const Chunk& c = bindings[i].storage->chunks()[bindings[i].chunk];
      VkWriteDescriptorSet w{VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      w.dstSet = set;
      w.dstBinding = i;
      w.descriptorCount = 1;
      w.descriptorType = descriptor_type(access[i]);
      if (access[i] == Access::ReadTexels) {
        views.push_back(bindings[i].storage->texel_view(bindings[i].chunk));
        w.pTexelBufferView = &views.back();
      } else {
        infos.push_back({c.buffer, c.offset, c.range});
        w.pBufferInfo = &infos.back();
      }
      writes.push_back(w);
    }
    vkUpdateDescriptorSets(dev, uint32_t(writes.size()), writes.data(), 0, nullptr);
  };

  VkDescriptorSet step_set = allocate_set(device_.pipelines().step_set_layout());
  const Access step_access[] = {Access::Read};
  write_set(step_set, std::span<const Binding>(std::vector<Binding>{bind(step_)}), step_access);

  if (profile_) {
    VkQueryPoolCreateInfo qi{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    qi.queryType = VK_QUERY_TYPE_TIMESTAMP;
    qi.queryCount = uint32_t(dispatches_.size()) + 1;
    VKLLM_CHECK(vkCreateQueryPool(dev, &qi, nullptr, &queries_));
  }

  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = device_.command_pool();
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  VKLLM_CHECK(vkAllocateCommandBuffers(dev, &ai, &cb_));
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  VKLLM_CHECK(vkBeginCommandBuffer(cb_, &bi));
  if (queries_) {
    vkCmdResetQueryPool(cb_, queries_, 0, uint32_t(dispatches_.size()) + 1);
    vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_TOP_OF_PIPE_BIT, queries_, 0);
  }
  Device::barrier_after_previous_work(cb_);

  VkMemoryBarrier hazard{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  hazard.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_SHADER_READ_BIT;
  hazard.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT;
  const Pipeline* bound = nullptr;
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    const Dispatch& d = dispatches_[i];
    if (d.barrier_before)
      vkCmdPipelineBarrier(cb_, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, 0, 1,
                           &hazard, 0, nullptr, 0, nullptr);
    if (bound != d.pipeline) {
      vkCmdBindPipeline(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->pipeline);
      vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->layout, kStepSet, 1, &step_set, 0,
                              nullptr);
      bound = d.pipeline;
    }
    VkDescriptorSet set = allocate_set(d.pipeline->set_layout);
    write_set(set, d.bindings, d.pipeline->decl->bindings);
    vkCmdBindDescriptorSets(cb_, VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline->layout, 0, 1, &set, 0, nullptr);
    if (!d.push.empty())
      vkCmdPushConstants(cb_, d.pipeline->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, uint32_t(d.push.size()),
                         d.push.data());
    vkCmdDispatch(cb_, d.groups.x, d.groups.y, d.groups.z);
    if (queries_) vkCmdWriteTimestamp(cb_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, queries_, uint32_t(i) + 1);
  }
  Device::barrier_before_host_access(cb_);
  VKLLM_CHECK(vkEndCommandBuffer(cb_));
  recorded_ = true;
}

void Graph::run() {
  if (!recorded_) record();
  device_.count_dispatches(dispatches_.size());
  device_.submit_and_wait(cb_);
  if (queries_) collect_profile();
}

void Graph::collect_profile() {
  std::vector<uint64_t> ts(dispatches_.size() + 1);
  VKLLM_CHECK(vkGetQueryPoolResults(device_.handle(), queries_, 0, uint32_t(ts.size()), ts.size() * 8, ts.data(), 8,
                                    VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT));
  const double ns = device_.info().timestamp_period_ns;
  for (size_t i = 0; i < dispatches_.size(); ++i) {
    auto& t = profile_table_[std::string(dispatches_[i].pipeline->decl->name) + " (" + dispatches_[i].pipeline->variant + ")"];
    t.calls++;
    t.ms += double(ts[i + 1] - ts[i]) * ns * 1e-6;
  }
}

}  // namespace vkllm
