#include "runtime/pipeline.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include <unistd.h>

#include "runtime/device.h"
#include "runtime/env.h"
#include "runtime/error.h"
#include "runtime/shader_registry.h"
#include "runtime/workgroup_memory.h"

namespace vkllm {

namespace {

const SpirvModule& find_module(std::string_view name) {
  for (auto& m : spirv_modules())
    if (name == m.name) return m;
  throw Error("no embedded shader variant named '" + std::string(name) + "'");
}

// VKLLM_PIPELINE_CACHE: a directory, or 0/off to disable; default $XDG_CACHE_HOME/vkllm or ~/.cache/vkllm.
std::filesystem::path cache_dir() {
  if (auto v = env_string("VKLLM_PIPELINE_CACHE")) {
    if (*v == "0" || *v == "off" || v->empty()) return {};
    return *v;
  }
  if (auto x = env_string("XDG_CACHE_HOME"); x && !x->empty()) return std::filesystem::path(*x) / "vkllm";
  if (auto h = env_string("HOME"); h && !h->empty()) return std::filesystem::path(*h) / ".cache" / "vkllm";
  return {};
}

}  // namespace

Pipelines::Pipelines(Device& device) : device_(device) {
  VkDevice dev = device_.handle();
  VkDescriptorSetLayoutBinding step{0, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = 1;
  li.pBindings = &step;
  VKLLM_CHECK(vkCreateDescriptorSetLayout(dev, &li, nullptr, &step_layout_));

  std::vector<char> blob;
  if (auto dir = cache_dir(); !dir.empty()) {
    const auto& info = device_.info();
    char name[96];
    int n = std::snprintf(name, sizeof name, "pipelines-");
    for (uint8_t b : info.pipeline_cache_uuid) n += std::snprintf(name + n, sizeof name - n, "%02x", b);
    std::snprintf(name + n, sizeof name - n, "-%08x.bin", info.driver_version);
    path_ = dir / name;
    std::ifstream in(path_, std::ios::binary);
    if (in) blob.assign(std::istreambuf_iterator<char>(in), {});
  }
  VkPipelineCacheCreateInfo ci{VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
  ci.initialDataSize = blob.size();
  ci.pInitialData = blob.empty() ? nullptr : blob.data();
  // A stale or foreign blob is ignored by the driver (the header carries the UUID); if the
  // driver rejects it outright, start empty.
  if (vkCreatePipelineCache(dev, &ci, nullptr, &cache_) != VK_SUCCESS) {
    ci.initialDataSize = 0;
    ci.pInitialData = nullptr;
    VKLLM_CHECK(vkCreatePipelineCache(dev, &ci, nullptr, &cache_));
  }
}

Pipelines::~Pipelines() {
  VkDevice dev = device_.handle();
  if (dirty_ && !path_.empty()) {
    size_t size = 0;
    if (vkGetPipelineCacheData(dev, cache_, &size, nullptr) == VK_SUCCESS && size) {
      std::vector<char> data(size);
      if (vkGetPipelineCacheData(dev, cache_, &size, data.data()) == VK_SUCCESS) {
        std::error_code ec;
        std::filesystem::create_directories(path_.parent_path(), ec);
        auto tmp = path_;
        tmp += ".tmp" + std::to_string(::getpid());
        std::ofstream out(tmp, std::ios::binary);
        out.write(data.data(), std::streamsize(size));
        out.close();
        if (out) std::filesystem::rename(tmp, path_, ec);  // atomic: readers never see half a file
        if (!out || ec) std::filesystem::remove(tmp, ec);
      }
    }
  }
  for (auto& [_, p] : pipelines_) {
    vkDestroyPipeline(dev, p->pipeline, nullptr);
    vkDestroyPipelineLayout(dev, p->layout, nullptr);
  }
  for (auto& [_, l] : set_layouts_) vkDestroyDescriptorSetLayout(dev, l, nullptr);
  vkDestroyDescriptorSetLayout(dev, step_layout_, nullptr);
  vkDestroyPipelineCache(dev, cache_, nullptr);
}

VkDescriptorType descriptor_type(Access a) {
  return a == Access::ReadTexels ? VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER : VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
}

VkDescriptorSetLayout Pipelines::set_layout(const std::vector<Access>& bindings) {
  auto it = set_layouts_.find(bindings);
  if (it != set_layouts_.end()) return it->second;
  std::vector<VkDescriptorSetLayoutBinding> b(bindings.size());
  for (uint32_t i = 0; i < b.size(); ++i) b[i] = {i, descriptor_type(bindings[i]), 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo li{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  li.bindingCount = uint32_t(b.size());
  li.pBindings = b.data();
  VkDescriptorSetLayout layout;
  VKLLM_CHECK(vkCreateDescriptorSetLayout(device_.handle(), &li, nullptr, &layout));
  return set_layouts_[bindings] = layout;
}

const Pipeline& Pipelines::get(const OpDecl& decl, std::string_view variant, const std::vector<uint32_t>& spec) {
  std::string key = decl.name;
  key.append("/").append(variant);
  for (uint32_t v : spec) key.append(":").append(std::to_string(v));
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return *it->second;

  VkDevice dev = device_.handle();
  const SpirvModule& spv = find_module(variant);
  auto p = std::make_unique<Pipeline>();
  p->decl = &decl;
  p->variant = std::string(variant);
  p->local_size = spec.empty() ? 1 : spec[0];
  const Capabilities& caps = device_.caps();
  if (p->local_size == 0 || p->local_size > caps.max_workgroup_invocations)
    throw Error("workgroup size " + std::to_string(p->local_size) + " for " + key + " exceeds the device limit of " +
                std::to_string(caps.max_workgroup_invocations) + " invocations");
  if (uint64_t shared = workgroup_memory_bytes({spv.words, spv.word_count}, spec); shared > caps.max_shared_memory)
    throw Error(key + " needs " + std::to_string(shared) + " bytes of shared memory; the device allows " +
                std::to_string(caps.max_shared_memory));
  if (!device_.caps().texel_reads)
    for (Access a : decl.bindings)
      if (a == Access::ReadTexels) throw Error(key + " reads texel buffers, which this device does not use");
  p->set_layout = set_layout(decl.bindings);

  VkDescriptorSetLayout sets[2] = {p->set_layout, step_layout_};
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, decl.push_bytes};
  VkPipelineLayoutCreateInfo pl{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  pl.setLayoutCount = 2;
  pl.pSetLayouts = sets;
  pl.pushConstantRangeCount = decl.push_bytes ? 1 : 0;
  pl.pPushConstantRanges = &range;
  VKLLM_CHECK(vkCreatePipelineLayout(dev, &pl, nullptr, &p->layout));

  VkShaderModuleCreateInfo mi{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  mi.codeSize = spv.word_count * 4;
  mi.pCode = spv.words;
  VkShaderModule module;
  VKLLM_CHECK(vkCreateShaderModule(dev, &mi, nullptr, &module));

  std::vector<VkSpecializationMapEntry> entries(spec.size());
  for (uint32_t i = 0; i < spec.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo si{uint32_t(spec.size()), entries.data(), spec.size() * 4, spec.data()};

  VkComputePipelineCreateInfo ci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  ci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  ci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  ci.stage.module = module;
  ci.stage.pName = "main";
  ci.stage.pSpecializationInfo = spec.empty() ? nullptr : &si;
  ci.layout = p->layout;
  VkResult r = vkCreateComputePipelines(dev, cache_, 1, &ci, nullptr, &p->pipeline);
  vkDestroyShaderModule(dev, module, nullptr);
  if (r != VK_SUCCESS) {
    vkDestroyPipelineLayout(dev, p->layout, nullptr);
    throw Error("creating pipeline " + key + " failed: " + vk_result_name(r));
  }
  dirty_ = true;
  return *(pipelines_[key] = std::move(p));
}

}  // namespace vkllm
