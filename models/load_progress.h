#pragma once
// A progress bar on stderr for weight uploads, shown once loading has taken over a second: a
// bar redrawn in place on a terminal, one summary line otherwise (logs stay readable).
#include <chrono>
#include <cstdint>
#include <string>

namespace vkllm {

class LoadProgress {
 public:
  LoadProgress(std::string label, uint64_t total_bytes);
  ~LoadProgress();
  LoadProgress(const LoadProgress&) = delete;
  LoadProgress& operator=(const LoadProgress&) = delete;
  void advance(uint64_t bytes);

 private:
  void draw(bool final);
  std::string label_;
  uint64_t total_, done_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
  bool terminal_;
};

}  // namespace vkllm
