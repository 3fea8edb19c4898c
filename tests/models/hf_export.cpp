#include "tests/models/hf_export.h"

#include <algorithm>
#include <cstring>
#include <fstream>

#include "host/json_file.h"
#include "models/arch.h"
#include "models/gguf.h"
#include "tests/models/safetensors_writer.h"
#include "tests/test_util.h"

namespace vkllm::test {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {
float round_to_bf16(float v) {
  uint32_t bits;
  std::memcpy(&bits, &v, 4);
  bits = (bits + 0x7fff + ((bits >> 16) & 1)) & 0xffff0000u;  // nearest, ties to even
  std::memcpy(&v, &bits, 4);
  return v;
}

}  // namespace

fs::path write_hf_from_gguf(const std::string& gguf_path, const std::string& label, const HfExport& e) {
  const GgufFile gguf(gguf_path);
  const std::string arch_name = gguf.get_string("general.architecture");
  const ArchDescription& arch = arch_description(arch_name);
  json config = json::object();
  for (const HparamSpec& h : arch.hparams) {
    const std::string key = arch_name + "." + h.gguf;
    if (h.hf.empty() || !gguf.has(key)) continue;
    json* at = &config;
    const std::vector<std::string> paths = alternatives(h.hf);
    const std::string path = paths[std::min(e.config_alternative, paths.size() - 1)];
    for (size_t start = 0;;) {
      const size_t dot = path.find('.', start);
      at = &(*at)[path.substr(start, dot == std::string::npos ? dot : dot - start)];
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    std::visit([&](const auto& v) {
      if constexpr (!std::is_same_v<std::decay_t<decltype(v)>, GgufArray>) *at = v;
    }, gguf.metadata().at(key).v);
  }
  const GgufTensor* embedding = gguf.find("token_embd.weight");
  config["vocab_size"] = (embedding ? *embedding : gguf.tensor("enc.token_embd.weight")).dims[1];
  merge_json(config, e.extra_config);  // nested objects (T5Gemma's stacks) keep their other keys

  std::vector<SafetensorEntry> entries;
  for (const GgufTensor& t : gguf.tensors()) {
    int layer = -1;
    const TensorSpec* spec = match_tensor(arch, t.name, layer);
    REQUIRE(spec);
    REQUIRE(t.type == uint32_t(GgmlType::F32));
    if (t.name == e.drop) continue;
    std::vector<float> v(t.elements());
    std::memcpy(v.data(), t.data, v.size() * 4);
    for (float& x : v) {
      if (spec->layout == HfLayout::NormMinusOne) x -= 1.0f;
      if (e.bf16_values) x = round_to_bf16(x);
    }
    std::string bytes;
    if (e.bf16_storage) {
      for (float x : v) {
        uint32_t bits;
        std::memcpy(&bits, &x, 4);
        const uint16_t top = uint16_t(bits >> 16);
        bytes.append(reinterpret_cast<const char*>(&top), 2);
      }
    } else {
      bytes.assign(reinterpret_cast<const char*>(v.data()), v.size() * 4);
    }
    std::vector<int64_t> shape(t.dims.rbegin(), t.dims.rend());
    const std::vector<std::string> names = alternatives(spec->hf);
    const std::string hf = layer_name(names[std::min(e.hf_alternative, names.size() - 1)], layer);
    const std::string name = hf.starts_with(e.rename.from) ? e.rename.to + hf.substr(e.rename.from.size()) : hf;
    entries.push_back({name, e.bf16_storage ? "BF16" : "F32", shape, bytes});
  }
  const fs::path dir = temp_path(label);
  fs::create_directories(dir);
  write_safetensors(dir / "model.safetensors", entries);
  json file = e.text_config ? json{{"text_config", config}} : config;
  file["architectures"] = {e.hf_class};
  std::ofstream(dir / "config.json") << file.dump();
  return dir;
}


}  // namespace vkllm::test
