#include "tests/test_util.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/wait.h>
#include <optional>

#include <unistd.h>

namespace vkllm::test {

TempFile::~TempFile() {
  std::error_code ignored;
  std::filesystem::remove(path, ignored);
}

namespace {
DeviceOptions validated_options() {
  DeviceOptions o;
  o.instance.validation = true;
  return o;
}
}  // namespace

Device& gpu() {
  static Device device(validated_options());
  return device;
}

ScopedEnv::ScopedEnv(std::vector<std::pair<std::string, std::string>> vars) {
  for (auto& [k, v] : vars) {
    const char* old = std::getenv(k.c_str());
    saved_.emplace_back(k, old ? std::optional<std::string>(old) : std::nullopt);
    setenv(k.c_str(), v.c_str(), 1);
  }
}

ScopedEnv::~ScopedEnv() {
  for (auto& [k, v] : saved_) v ? setenv(k.c_str(), v->c_str(), 1) : unsetenv(k.c_str());
}

std::unique_ptr<Device> open_device_with(std::vector<std::pair<std::string, std::string>> env) {
  ScopedEnv scoped(std::move(env));
  return std::make_unique<Device>(validated_options());
}

void check_no_validation_messages(Device& d) {
  for (auto& m : d.instance().take_validation_messages()) FAIL_CHECK("validation: " << m);
}

GpuTest::~GpuTest() { check_no_validation_messages(gpu()); }

ref::Mat random_mat(int64_t rows, int64_t cols, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(lo, hi);
  ref::Mat m(rows, cols);
  for (auto& v : m.v) v = u(rng);
  return m;
}

ref::Mat round_to_f16(ref::Mat m) {
  for (auto& v : m.v) v = f16_to_f32(f32_to_f16(v));
  return m;
}

Tensor to_device(Device& d, const ref::Mat& m, DType dtype, const char* name) {
  Tensor t = d.tensor(dtype, m.rows, row_units(dtype, m.cols), name);
  if (dtype == DType::F16)
    d.upload(t, to_f16(m.v).data());
  else if (block_rows(dtype))
    d.upload(t, ref::quantize_rows(dtype, m).data());
  else if (dtype == DType::F32)
    d.upload(t, m.v.data());
  else
    throw Error("to_device: unsupported dtype");
  return t;
}

ref::Mat to_host(Device& d, const Tensor& t, int64_t values) {
  if (block_rows(t.dtype)) return ref::dequantize_rows(t.dtype, d.download<uint32_t>(t), t.rows, values);
  ref::Mat m(t.rows, t.cols);
  if (t.dtype == DType::F16)
    m.v = from_f16(d.download<uint16_t>(t));
  else
    m.v = d.download<float>(t);
  return m;
}

ref::Mat as_stored(const ref::Mat& m, DType dtype) {
  if (dtype == DType::F16) return round_to_f16(m);
  if (block_rows(dtype)) return ref::dequantize_rows(dtype, ref::quantize_rows(dtype, m), m.rows, m.cols);
  return m;
}

float max_abs_diff(const ref::Mat& a, const ref::Mat& b) {
  REQUIRE(a.rows == b.rows);
  REQUIRE(a.cols == b.cols);
  return max_abs_diff(std::span<const float>(a.v), std::span<const float>(b.v));
}

float max_abs_diff(std::span<const float> a, std::span<const float> b) {
  REQUIRE(a.size() == b.size());
  float m = 0;
  for (size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

float max_rel_diff(const ref::Mat& a, const ref::Mat& b) {
  REQUIRE(a.rows == b.rows);
  REQUIRE(a.cols == b.cols);
  float m = 0;
  for (size_t i = 0; i < a.v.size(); ++i) m = std::max(m, std::fabs(a.v[i] - b.v[i]) / (1.0f + std::fabs(b.v[i])));
  return m;
}

std::string temp_path(const std::string& name) {
  std::string file = "vkllm-";
  file.append(std::to_string(::getpid())).append("-").append(name);
  return (std::filesystem::temp_directory_path() / file).string();
}

namespace {
std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}
}  // namespace

CliResult run_cli(const std::string& args) {
  const std::string out = temp_path("cli-stdout"), err = temp_path("cli-stderr");
  const int status = std::system(("VKLLM_VALIDATION=1 " + std::string(VKLLM_CLI) + " " + args + " >" + out + " 2>" + err).c_str());
  CliResult r{WIFEXITED(status) ? WEXITSTATUS(status) : -1, slurp(out), slurp(err)};
  std::filesystem::remove(out);
  std::filesystem::remove(err);
  CHECK_MESSAGE(r.err.find("[vulkan validation]") == std::string::npos, r.err);
  return r;
}

std::optional<std::string> shared_data(const std::string& relative) {
  const std::string path = std::string(VKLLM_SHARED_DATA) + "/" + relative;
  if (std::filesystem::exists(path)) return path;
  MESSAGE("skipped: " << path << " not found (the reference data lives in ../shared/data beside the checkout)");
  return std::nullopt;
}

const std::vector<Shape>& odd_shapes() {
  static const std::vector<Shape> shapes = {{1, 1}, {1, 7}, {3, 33}, {2, 64}, {5, 255}, {7, 257}, {4, 1000}, {33, 129}, {2, 4099}};
  return shapes;
}

}  // namespace vkllm::test
