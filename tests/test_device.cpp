// Device selection, capability overrides and the on-disk pipeline cache.
#include <filesystem>
#include <fstream>

#include "runtime/shader_registry.h"
#include "runtime/workgroup_memory.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;

namespace {
DeviceInfo fake(uint32_t index, const char* name, VkPhysicalDeviceType type) {
  DeviceInfo d;
  d.index = index;
  d.name = name;
  d.type = type;
  d.compute_queue_family = 0;
  return d;
}
}  // namespace

TEST_CASE("device selection prefers discrete, then integrated, virtual, CPU; index and name override") {
  std::vector<DeviceInfo> devs = {fake(0, "llvmpipe", VK_PHYSICAL_DEVICE_TYPE_CPU),
                                  fake(1, "Intel UHD 770", VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU),
                                  fake(2, "NVIDIA GeForce RTX 4090", VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU)};
  CHECK(select_device(devs, "") == 2);
  CHECK(select_device(devs, "0") == 0);
  CHECK(select_device(devs, "uhd") == 1);
  CHECK(select_device(std::vector<DeviceInfo>(devs.begin(), devs.begin() + 2), "") == 1);
  CHECK_THROWS_WITH_AS(select_device(devs, "7"), doctest::Contains("out of range"), Error);
  CHECK_THROWS_WITH_AS(select_device(devs, "radeon"), doctest::Contains("no Vulkan device matches 'radeon'"), Error);
  CHECK_THROWS_WITH_AS(select_device({}, ""), doctest::Contains("no Vulkan device found"), Error);
}

TEST_CASE("environment switches force the fallbacks") {
  DeviceInfo info = gpu().info();
  auto with = [&](const char* var, const char* value) {
    ScopedEnv scoped({std::pair<std::string, std::string>(var, value)});
    return Capabilities::from(info);
  };
  CHECK_FALSE(with("VKLLM_DISABLE_F16", "1").f16_storage);
  CHECK_FALSE(with("VKLLM_DISABLE_SUBGROUP", "1").subgroup_arithmetic);
  CHECK(with("VKLLM_MAX_BUFFER_RANGE", "65536").max_buffer_range == 65536);
  CHECK_THROWS_WITH_AS(with("VKLLM_MAX_BUFFER_RANGE", "lots"), doctest::Contains("VKLLM_MAX_BUFFER_RANGE"), Error);
}

TEST_CASE("the mobile limits profile lowers what the device reports, and names a bad profile") {
  DeviceInfo info = gpu().info();  // already lowered where the suite runs under VKLLM_LIMITS=mobile
  apply_limits_profile(info, "mobile");
  CHECK(info.limits_profile == "mobile");
  CHECK(info.max_storage_buffer_range <= (128u << 20));
  CHECK(info.max_compute_shared_memory <= 16384);
  CHECK(info.max_workgroup_invocations <= 256);
  const Capabilities caps = Capabilities::from(info);
  CHECK_FALSE(caps.f16_storage);
  CHECK_FALSE(caps.subgroup_arithmetic);
  CHECK_FALSE(caps.one_subgroup_workgroups);
  CHECK_FALSE(caps.integer_dot_product);
  CHECK(caps.max_shared_memory <= 16384);
  DeviceInfo unchanged = gpu().info();
  apply_limits_profile(unchanged, "device");
  CHECK(unchanged.storage_buffer_16bit == gpu().info().storage_buffer_16bit);
  CHECK_THROWS_WITH_AS(apply_limits_profile(unchanged, "phone"), doctest::Contains("'mobile' or 'device', not 'phone'"), Error);
}

TEST_CASE("shared memory is read from SPIR-V after specialization, and every kernel fits 16 KiB") {
  auto module = [](std::string_view name) {
    for (const SpirvModule& m : spirv_modules())
      if (name == m.name) return std::span<const uint32_t>(m.words, m.word_count);
    FAIL("no module " << name);
    return std::span<const uint32_t>();
  };
  // Two 16 x 33 float tiles; two 32 x 33 for the block formats (shaders/matmul*.comp).
  CHECK(workgroup_memory_bytes(module("matmul_f32"), std::vector<uint32_t>{64}) == 2 * 16 * 33 * 4);
  CHECK(workgroup_memory_bytes(module("matmul_q8_0"), std::vector<uint32_t>{64}) == 2 * 32 * 33 * 4);
  // A shared-memory reduction keeps one float per invocation: it follows the workgroup size.
  CHECK(workgroup_memory_bytes(module("rmsnorm_sh"), std::vector<uint32_t>{64}) == 64 * 4);
  CHECK(workgroup_memory_bytes(module("rmsnorm_sh"), std::vector<uint32_t>{256}) == 256 * 4);
  CHECK(workgroup_memory_bytes(module("rmsnorm_sg1"), std::vector<uint32_t>{256}) == 0);
  // The mobile profile's limits hold for every kernel at its largest workgroup.
  for (const SpirvModule& m : spirv_modules()) {
    CAPTURE(m.name);
    CHECK(workgroup_memory_bytes({m.words, m.word_count}, std::vector<uint32_t>{256}) <= 16384);
  }
  const uint32_t not_spirv[5] = {1, 2, 3, 4, 5};
  CHECK_THROWS_WITH_AS(workgroup_memory_bytes(not_spirv, {}), doctest::Contains("not a SPIR-V module"), Error);
}

TEST_CASE("the pipeline cache is written to disk and a corrupt cache file is ignored") {
  namespace fs = std::filesystem;
  const fs::path dir = fs::temp_directory_path() / ("vkllm-cache-test-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::path file;
  auto build_one = [&] {
    auto d = open_device_with({{"VKLLM_PIPELINE_CACHE", dir.string()}});
    file = d->pipelines().disk_cache_path();
    Tensor x = to_device(*d, random_mat(2, 8, 1)), y = d->tensor(DType::F32, 2, 8);
    Graph g(*d);
    ops::silu(g, x, y);
    g.run();
    check_no_validation_messages(*d);
  };
  build_one();
  REQUIRE(fs::exists(file));
  CHECK(fs::file_size(file) > 0);
  CHECK(file.filename().string().find("pipelines-") == 0);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << "not a pipeline cache";
  build_one();  // must still work
  fs::remove_all(dir);
}

TEST_CASE("synchronization validation is active: a missing barrier is reported") {
  auto d = open_device_with({});
  Tensor t = d->tensor(DType::F32, 1, 256);
  const Chunk& c = t.storage->chunks()[0];
  d->run_commands([&](VkCommandBuffer cb) {
    vkCmdFillBuffer(cb, c.buffer, c.offset, 1024, 1u);
    vkCmdFillBuffer(cb, c.buffer, c.offset, 1024, 2u);  // write-after-write with no barrier
  });
  auto messages = d->instance().take_validation_messages();
  REQUIRE_FALSE(messages.empty());
  CHECK(messages[0].find("WRITE_AFTER_WRITE") != std::string::npos);
}
