#include "models/load_progress.h"

#include <unistd.h>

#include <cstdio>

namespace vkllm {

namespace {
constexpr auto kQuiet = std::chrono::seconds(1);   // loads shorter than this print nothing
constexpr auto kRedraw = std::chrono::milliseconds(100);
double seconds(std::chrono::steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }
}  // namespace

LoadProgress::LoadProgress(std::string label, uint64_t total_bytes)
    : label_(std::move(label)), total_(total_bytes), start_(std::chrono::steady_clock::now()), last_draw_(start_),
      terminal_(::isatty(STDERR_FILENO) != 0) {}

LoadProgress::~LoadProgress() {
  if (std::chrono::steady_clock::now() - start_ >= kQuiet) draw(true);
}

void LoadProgress::advance(uint64_t bytes) {
  done_ += bytes;
  const auto now = std::chrono::steady_clock::now();
  if (terminal_ && now - start_ >= kQuiet && now - last_draw_ >= kRedraw) {
    last_draw_ = now;
    draw(false);
  }
}

void LoadProgress::draw(bool final) {
  const double fraction = total_ ? double(done_) / double(total_) : 1.0;
  const double mib = double(done_) / (1024.0 * 1024.0);
  const double s = seconds(std::chrono::steady_clock::now() - start_);
  if (!terminal_) {
    if (final) std::fprintf(stderr, "vkllm: loaded %s: %.0f MiB in %.1f s\n", label_.c_str(), mib, s);
    return;
  }
  constexpr int kWidth = 30;
  const int filled = int(fraction * kWidth + 0.5);
  std::fprintf(stderr, "\rloading %s [%s%s] %3.0f%% %.0f MiB %.1f s", label_.c_str(), std::string(size_t(filled), '#').c_str(),
               std::string(size_t(kWidth - filled), ' ').c_str(), fraction * 100.0, mib, s);
  if (final) std::fputc('\n', stderr);
  std::fflush(stderr);
}

}  // namespace vkllm
