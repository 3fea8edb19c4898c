// One description per architecture: make-model writes exactly the tensors it lists, and a GGUF
// rewritten as a Hugging Face checkpoint through its names, layouts and config.json keys loads,
// through the same loader, to bit-identical logits.
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>

#include <nlohmann/json.hpp>

#include "models/arch.h"
#include "models/gguf_model.h"
#include "models/hf_model.h"
#include "models/chatglm.h"
#include "tests/models/safetensors_writer.h"
#include "tests/models/synthetic.h"

using namespace vkllm;
using namespace vkllm::test;
namespace fs = std::filesystem;
using nlohmann::json;

TEST_CASE("make-model writes exactly the tensors each architecture's description lists") {
  for (const std::string arch : {"llama", "qwen2", "gpt2", "chatglm6b"}) {
    CAPTURE(arch);
    const SyntheticModel m = small_model(arch);
    const auto path = temp_path("described-" + arch + ".gguf");
    make_model(m, path);
    std::set<std::string> written, described;
    const GgufFile file(path);
    for (const GgufTensor& t : file.tensors()) written.insert(t.name);
    for (const TensorSpec& t : arch_description(arch).tensors) {
      if (t.role == TensorRole::RopeFactors) continue;  // only when factors are given
      for (int l = 0; l < (t.name.find("{l}") == std::string::npos ? 1 : m.layers); ++l) described.insert(layer_name(t.name, l));
    }
    CHECK(written == described);
    CHECK(written.size() == file.tensors().size());
    fs::remove(path);
  }
}

namespace {

// The GGUF's tensors under their Hugging Face names and layouts, and its hyperparameters under
// config.json's simple keys: a checkpoint Hugging Face's converter would have started from.
fs::path as_hf_checkpoint(const GgufFile& file, const ArchDescription& d, const std::string& name) {
  const auto h = gguf_hyperparameters(file, d);
  json config = {{"architectures", {d.hf_classes.front()}}};
  for (const HparamSpec& p : d.hparams)
    if (!p.hf.empty() && p.hf.find_first_of(".|") == std::string::npos)
      if (auto v = h->number(p.gguf)) config[p.hf] = *v == std::floor(*v) ? json(int64_t(*v)) : json(*v);
  if (d.name == "chatglm6b") config["position_encoding_2d"] = true;
  std::vector<SafetensorEntry> entries;
  for (const GgufTensor& t : file.tensors()) {
    int layer = -1;
    const TensorSpec* spec = match_tensor(d, t.name, layer);
    REQUIRE(spec);
    const size_t element = t.type == uint32_t(GgmlType::F16) ? 2 : 4;
    const int64_t cols = int64_t(t.dims[0]), rows = int64_t(t.elements()) / cols;
    std::string bytes(reinterpret_cast<const char*>(t.data), t.bytes), stored = bytes;
    std::vector<int64_t> shape = t.dims.size() == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
    if (spec->layout == HfLayout::Transposed) {
      shape = {cols, rows};
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c) std::memcpy(&stored[size_t(c * rows + r) * element], &bytes[size_t(r * cols + c) * element], element);
    } else if (spec->layout == HfLayout::PerHeadQkvRows) {
      const int heads = h->integer("attention.head_count");
      const int64_t n = t.dims.size() == 1 ? cols : rows, row = t.dims.size() == 1 ? int64_t(element) : cols * int64_t(element);
      const auto order = chatglm_qkv_rows(heads, int(n / 3 / heads));
      for (size_t r = 0; r < order.size(); ++r) std::memcpy(&stored[size_t(order[r] * row)], &bytes[r * size_t(row)], size_t(row));
    }
    entries.push_back({layer_name(spec->hf, layer), element == 2 ? "F16" : "F32", shape, stored});
  }
  const fs::path dir = temp_path(name);
  fs::create_directories(dir);
  write_safetensors(dir / "model.safetensors", entries);
  std::ofstream(dir / "config.json") << config.dump();
  return dir;
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "a GGUF rewritten as a Hugging Face checkpoint through the description gives the same logits") {
  // llama's GGUF stores q/k permuted to interleaved pairs, so it is not a plain rewrite.
  for (const std::string arch : {"qwen2", "gpt2", "chatglm6b"}) {
    CAPTURE(arch);
    const auto path = temp_path("rewrite-" + arch + ".gguf");
    make_model(small_model(arch), path);
    GgufFile file(path);
    const fs::path dir = as_hf_checkpoint(file, arch_description(arch), "rewrite-" + arch);
    auto from_gguf = load_gguf_model(gpu(), file);
    auto from_hf = load_hf_model(gpu(), dir.string());
    std::vector<int32_t> tokens{5, 70, 71, 72, 73};
    const auto suffix = from_gguf->prompt_suffix();
    tokens.insert(tokens.end(), suffix.begin(), suffix.end());
    std::vector<float> logits[2];
    for (int i = 0; i < 2; ++i) {
      Model& model = i == 0 ? *from_gguf : *from_hf;
      const PositionPlan plan = model.plan_positions({}, tokens);
      KvCache cache(gpu(), model.cache_config(16));
      logits[i] = model.forward(cache, tokens, plan.positions, plan.extras());
    }
    CHECK(logits[0].size() == tokens.size() * 300);
    CHECK(logits[0] == logits[1]);
    fs::remove_all(dir);
    fs::remove(path);
  }
}
