#pragma once
// A Graph is a recorded sequence of compute dispatches. Each dispatch binds tensor ranges to
// an op's declared bindings; from the declared access of each binding the graph derives the
// hazards (read-after-write, write-after-read, write-after-write) and inserts a barrier only
// where one exists. The graph is recorded into one command buffer on the first run() and
// replayed by later runs; values that change between runs (positions, lengths) live in a
// small host-visible "step" buffer that shaders read (see shaders/common.glsl: param()).
#include <array>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <vulkan/vulkan.h>

#include "runtime/pipeline.h"
#include "runtime/tensor.h"

namespace vkllm {

class Device;
struct Capabilities;

constexpr uint32_t kStepSlots = 64;

// A tensor range bound to one shader binding.
struct Binding {
  std::shared_ptr<Buffer> storage;
  size_t chunk = 0;
  uint64_t begin = 0, end = 0;  // bytes of the chunk the view spans (equal: none, no hazard)
  uint32_t elem_offset = 0;     // the view's first element, counted from the chunk start
};

// Binds rows [first, first + count) of `t`; they must lie in one chunk (split_rows ensures it).
Binding bind_rows(const Tensor& t, int64_t first, int64_t count);
inline Binding bind(const Tensor& t) { return bind_rows(t, 0, t.rows); }

struct RowSpan {
  int64_t first, count;
};
// Splits rows [0, rows) into spans whose rows lie in a single chunk of every given tensor
// (tensors whose row r is the span's row r). One span unless a tensor is chunked.
std::vector<RowSpan> split_rows(int64_t rows, std::initializer_list<const Tensor*> tensors);

struct Groups {
  uint32_t x = 1, y = 1, z = 1;
};
// Workgroups of `local_size` covering `invocations`, folded into y beyond the device's x limit.
// Shaders recover the linear index with linear_workgroup() from common.glsl.
Groups groups_for(uint64_t invocations, uint32_t local_size, const Capabilities& caps);

class Graph {
 public:
  explicit Graph(Device& device);
  ~Graph();  // prints the profile table when VKLLM_PROFILE=1
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;

  Device& device() { return device_; }

  void dispatch(const Pipeline& pipeline, std::span<const Binding> bindings, const void* push, uint32_t push_bytes,
                Groups groups);
  template <class Push>
  void dispatch(const Pipeline& pipeline, std::initializer_list<Binding> bindings, const Push& push, Groups groups) {
    dispatch(pipeline, std::span<const Binding>(bindings.begin(), bindings.size()), &push, sizeof(Push), groups);
  }

  // A push-constant value that shaders resolve through param() to the current step value.
  static uint32_t step_param(uint32_t slot);
  void set_step(uint32_t slot, uint32_t value);

  // Records on first use (or after new dispatches), then submits and waits.
  void run();

  size_t dispatch_count() const { return dispatches_.size(); }
  // Barriers between dispatches; the fixed ones at the start and end of the command buffer
  // (against earlier submissions, and before host reads) are not counted.
  uint32_t barrier_count() const { return barriers_; }

 private:
  struct Dispatch {
    const Pipeline* pipeline;
    std::vector<Binding> bindings;
    std::vector<uint8_t> push;
    Groups groups;
    bool barrier_before;
  };
  struct Range {
    VkBuffer buffer;
    uint64_t begin, end;
    bool write;
  };
  void record();
  void release_recording();
  void collect_profile();

  Device& device_;
  std::vector<Dispatch> dispatches_;
  std::vector<Range> pending_;  // accesses since the last barrier
  uint32_t barriers_ = 0;
  Tensor step_;
  VkCommandBuffer cb_ = VK_NULL_HANDLE;
  VkDescriptorPool pool_ = VK_NULL_HANDLE;
  bool recorded_ = false;

  bool profile_ = false;
  VkQueryPool queries_ = VK_NULL_HANDLE;
  struct OpTime {
    uint64_t calls = 0;
    double ms = 0;
  };
  std::map<std::string, OpTime> profile_table_;
};

}  // namespace vkllm
