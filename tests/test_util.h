#pragma once
// Shared test fixtures: one validated GPU device for the whole run, random data, host/GPU
// transfers of reference matrices, and the check that no validation message was produced.
#include <doctest/doctest.h>

// doctest's CAPTURE names its argument inside a lambda, which clang before 16 refuses for a
// structured binding (`for (auto [rows, cols] : shapes) CAPTURE(rows);`). This one binds a
// reference first, so the suite builds with clang 14 (the sanitizer build) as with gcc.
#undef CAPTURE
#define VKLLM_CAPTURE_NAME2(line) vkllm_capture_##line
#define VKLLM_CAPTURE_NAME(line) VKLLM_CAPTURE_NAME2(line)
#define CAPTURE(x)                                 \
  const auto& VKLLM_CAPTURE_NAME(__LINE__) = (x); \
  DOCTEST_INFO(#x " := " << VKLLM_CAPTURE_NAME(__LINE__))

#include <cmath>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "host/half.h"
#include "host/reference/reference.h"
#include "runtime/device.h"
#include "runtime/error.h"
#include "runtime/graph.h"
#include "runtime/ops.h"

namespace vkllm::test {

// The device every test shares, created with VK_LAYER_KHRONOS_validation (synchronization
// validation on). A missing layer is a hard failure, not a skip.
Device& gpu();

// Sets environment variables for its lifetime and restores the previous values after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::vector<std::pair<std::string, std::string>> vars);
  ~ScopedEnv();

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// Opens another device with environment overrides applied while it is created
// (e.g. {{"VKLLM_MAX_BUFFER_RANGE", "1048576"}}).
std::unique_ptr<Device> open_device_with(std::vector<std::pair<std::string, std::string>> env);

// Fixture for GPU tests: fails the test case if the validation layers reported anything.
struct GpuTest {
  ~GpuTest();
};
void check_no_validation_messages(Device& d);

ref::Mat random_mat(int64_t rows, int64_t cols, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
ref::Mat round_to_f16(ref::Mat m);  // the values an f16 tensor actually holds

// Block types (Q8_0, Q4_0) are quantized and dequantized on the host (ref::quantize_rows);
// `values` is then the values per row.
Tensor to_device(Device& d, const ref::Mat& m, DType dtype = DType::F32, const char* name = "test");
ref::Mat to_host(Device& d, const Tensor& t, int64_t values = 0);
ref::Mat as_stored(const ref::Mat& m, DType dtype);  // the values a tensor of dtype holds for m

float max_abs_diff(const ref::Mat& a, const ref::Mat& b);
// The same over equally long value sequences (logits, hidden states).
float max_abs_diff(std::span<const float> a, std::span<const float> b);
// max over elements of |a - b| / (1 + |b|)
float max_rel_diff(const ref::Mat& a, const ref::Mat& b);

// A path in the temporary directory unique to this process (suites run concurrently under ctest).
std::string temp_path(const std::string& name);
// A temp_path() removed when the test leaves its scope, also when an assertion failed.
struct TempFile {
  std::string path;
  explicit TempFile(const std::string& name) : path(temp_path(name)) {}
  ~TempFile();
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
};

// Runs the vkllm CLI with `args` (shell words) under the validation layers and captures its exit
// status, stdout and stderr; a validation message fails the calling test.
struct CliResult {
  int status;
  std::string out, err;
};
CliResult run_cli(const std::string& args);

// A file under ../shared/data (the independent reference data), or nullopt after printing why
// the calling test is skipped when that folder is absent.
std::optional<std::string> shared_data(const std::string& relative);

// Shapes every op is tested over: single elements, odd sizes, and sizes past one workgroup.
struct Shape {
  int64_t rows, cols;
};
const std::vector<Shape>& odd_shapes();

}  // namespace vkllm::test
