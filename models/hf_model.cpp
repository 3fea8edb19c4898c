#include "models/hf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "host/json_file.h"

#include "models/arch.h"
#include "models/chatglm.h"
#include "models/load_progress.h"
#include "models/safetensors.h"
#include "models/source.h"
#include "models/upload.h"
#include "runtime/error.h"

namespace vkllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// The shards in load order, with the tensors each holds.
class Shards {
 public:
  explicit Shards(const fs::path& dir) {
    const fs::path single = dir / "model.safetensors", index = dir / "model.safetensors.index.json";
    std::set<std::string> files;
    if (fs::exists(index)) {
      const json map = read_json_file(index.string()).value("weight_map", json::object());
      for (const auto& [name, file] : map.items()) files.insert(file.get<std::string>());
    } else if (fs::exists(single)) {
      files.insert("model.safetensors");
    } else {
      throw Error(dir.string() + ": no model.safetensors or model.safetensors.index.json");
    }
    for (const auto& f : files) {
      files_.push_back(std::make_unique<SafetensorsFile>((dir / f).string()));
      for (const auto& [name, t] : files_.back()->tensors()) by_name_[name] = &t;
    }
  }
  const SafeTensor* find(const std::string& name) const {
    auto it = by_name_.find(name);
    return it == by_name_.end() ? nullptr : it->second;
  }
  uint64_t total_bytes() const {
    uint64_t n = 0;
    for (const auto& [_, t] : by_name_) n += t->bytes;
    return n;
  }
  std::string label() const { return files_.front()->path(); }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::map<std::string, const SafeTensor*> by_name_;
};

std::string architecture(const json& c) {
  return c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty()
             ? c["architectures"][0].get<std::string>()
             : "";
}

// config.json through the architecture's names: "rope_scaling.factor" walks nested objects,
// '|' separates alternatives.
class HfHyperparameters : public Hyperparameters {
 public:
  HfHyperparameters(json config, std::string dir, const ArchDescription& arch) : c_(std::move(config)), dir_(std::move(dir)), arch_(arch) {}
  const std::string& where() const override { return dir_; }
  std::string spelled(const std::string& key) const override {
    const HparamSpec* h = arch_.hparam(key);
    return "config.json '" + (h && !h->hf.empty() ? h->hf : key) + "'";
  }
  // Hugging Face keeps q/k in rotate_half order (GGUF conversion permutes them instead).
  RopePairing rope_pairing() const override { return RopePairing::HalfSplit; }
  std::optional<double> number(const std::string& key) const override {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_number()) throw Error(dir_ + ": " + spelled(key) + " is not a number");
    return v->get<double>();
  }
  std::optional<std::string> text(const std::string& key) const override {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_string()) throw Error(dir_ + ": " + spelled(key) + " is not a string");
    return v->get<std::string>();
  }
  std::optional<bool> boolean(const std::string& key) const override {
    const json* v = find(key);
    if (!v || v->is_null()) return std::nullopt;
    if (!v->is_boolean()) throw Error(dir_ + ": " + spelled(key) + " is not true or false");
    return v->get<bool>();
  }
  // "layer_types" where given (a stack's through the description), else Qwen2's
  // use_sliding_window (layers from max_window_layers on), else the default (every layer, or
  // Gemma's pattern).
  std::vector<int> sliding_windows(int n_layers, int global_every, const std::string& stack) const override {
    const json* types = find(stack + "layer_types");
    if (!types && stack.empty() && c_.contains("layer_types")) types = &c_["layer_types"];
    const bool qwen2_style = stack.empty() && c_.contains("use_sliding_window");
    if (!types && !qwen2_style) return Hyperparameters::sliding_windows(n_layers, global_every, stack);
    const int window = integer(stack + "attention.sliding_window", 0);
    std::vector<int> out(size_t(n_layers), 0);
    if (types) {
      const std::string spelled_types = spelled(stack + "layer_types");  // the key itself where the description has none
      if (!types->is_array() || int(types->size()) != n_layers)
        throw Error(dir_ + ": " + spelled_types + " needs one entry per layer (" + std::to_string(n_layers) + ")");
      for (int l = 0; l < n_layers; ++l) {
        const json& e = (*types)[size_t(l)];
        const std::string t = e.is_string() ? e.get<std::string>() : e.dump();
        if (t == "sliding_attention") out[size_t(l)] = window;
        else if (t != "full_attention")
          throw Error(dir_ + ": " + spelled_types + " entry " + std::to_string(l) + " is '" + t +
                      "' (sliding_attention and full_attention are known)");
      }
    } else if (c_.value("use_sliding_window", false)) {
      for (int l = c_.value("max_window_layers", 0); l < n_layers; ++l) out[size_t(l)] = window;
    }
    if (window <= 0 || std::find_if(out.begin(), out.end(), [](int w) { return w > 0; }) == out.end()) return {};
    return out;
  }
 private:
  const json* find(const std::string& key) const {
    const HparamSpec* h = arch_.hparam(key);
    if (!h || h->hf.empty()) return nullptr;
    for (const std::string& path : alternatives(h->hf)) {
      const json* v = &c_;
      for (size_t at = 0; v && at <= path.size();) {
        const size_t dot = std::min(path.find('.', at), path.size());
        const std::string part = path.substr(at, dot - at);
        v = v->is_object() && v->contains(part) ? &(*v)[part] : nullptr;
        at = dot + 1;
      }
      if (v) return v;
    }
    return nullptr;
  }
  json c_;
  std::string dir_;
  const ArchDescription& arch_;
};

// Tensors by canonical name through the description's Hugging Face names and layouts; F32,
// F16 and BF16 as stored (BF16 widened).
class HfTensors : public TensorSource {
 public:
  HfTensors(Device& device, const std::string& dir, const ArchDescription& arch, const Hyperparameters& h)
      : device_(device), dir_(dir), arch_(arch), h_(h), shards_(fs::path(dir)), progress_(dir, shards_.total_bytes()) {}
  const std::string& where() const override { return dir_; }
  bool has(const std::string& name) const override { return stored(name).first != nullptr; }
  std::optional<int64_t> rows(const std::string& name) const override {
    const auto [t, spec] = stored(name);
    if (!t || t->shape.size() != 2) return std::nullopt;
    return spec->layout == HfLayout::Transposed ? t->shape[1] : t->shape[0];
  }
  std::optional<std::vector<float>> host_values(const std::string&, int64_t) override { return std::nullopt; }

  Tensor tensor(const std::string& name, int64_t rows, int64_t cols) override {
    const auto [t, spec] = stored(name);
    if (!t) throw Error(dir_ + ": tensor '" + name + "' (" + (spec && !spec->hf.empty() ? hf_name(*spec, name) : "no Hugging Face name") + ") is missing");
    fingerprint_tensor(name, t->dtype, t->shape, t->data, t->bytes);
    const size_t element = t->dtype == "F32" ? 4 : 2;
    StoredType type = stored_type(*t);
    std::vector<int64_t> shape = rows == 1 ? std::vector<int64_t>{cols} : std::vector<int64_t>{rows, cols};
    std::vector<uint8_t> converted;
    const uint8_t* data = t->data;
    switch (spec->layout) {
      case HfLayout::AsIs:
        expect(*t, shape);
        break;
      case HfLayout::Transposed: {  // stored [cols, rows]
        expect(*t, {cols, rows});
        converted.resize(t->bytes);
        for (int64_t i = 0; i < cols; ++i)
          for (int64_t o = 0; o < rows; ++o) std::memcpy(&converted[size_t(o * cols + i) * element], t->data + size_t(i * rows + o) * element, element);
        data = converted.data();
        break;
      }
      case HfLayout::PerHeadQkvRows: {  // rows (a vector's elements) per head [q k v]
        expect(*t, shape);
        const int heads = h_.integer("attention.head_count");
        const int64_t n = rows == 1 ? cols : rows, row_bytes = rows == 1 ? int64_t(element) : cols * int64_t(element);
        const std::vector<int64_t> order = chatglm_qkv_rows(heads, int(n / 3 / heads));
        converted.resize(t->bytes);
        for (size_t r = 0; r < order.size(); ++r) std::memcpy(&converted[r * size_t(row_bytes)], t->data + size_t(order[r] * row_bytes), size_t(row_bytes));
        data = converted.data();
        break;
      }
      case HfLayout::NormMinusOne: {
        expect(*t, shape);
        std::vector<float> values = dense_values(type, rows * cols, t->data);
        for (float& v : values) v += 1.0f;  // in f32, as the Hugging Face models add it
        converted.resize(values.size() * 4);
        std::memcpy(converted.data(), values.data(), converted.size());
        data = converted.data();
        type = StoredType::F32;
        break;
      }
    }
    Tensor out = upload_dense(device_, type, rows, cols, data, name);
    progress_.advance(t->bytes);
    return out;
  }

 private:
  // The spec's Hugging Face names (its alternatives) for one layer.
  static std::vector<std::string> hf_names(const TensorSpec& spec, int layer) {
    std::vector<std::string> out = alternatives(spec.hf);
    for (std::string& n : out) n = layer_name(n, layer);
    return out;
  }
  std::string hf_name(const TensorSpec& spec, const std::string& name) const {
    int layer = -1;
    match_tensor(arch_, name, layer);
    std::string out;
    for (const std::string& n : hf_names(spec, layer)) out.append(out.empty() ? "" : " or ").append(n);
    return out;
  }
  // The stored tensor a canonical name maps to (with or without the optional prefix), and its spec.
  std::pair<const SafeTensor*, const TensorSpec*> stored(const std::string& name) const {
    int layer = -1;
    const TensorSpec* spec = match_tensor(arch_, name, layer);
    if (!spec || spec->hf.empty()) return {nullptr, spec};
    for (const std::string& hf : hf_names(*spec, layer)) {
      for (const auto& [from, to] : arch_.hf_renames)
        if (hf.starts_with(from))
          if (const SafeTensor* t = shards_.find(to + hf.substr(from.size()))) return {t, spec};
      if (const SafeTensor* t = shards_.find(hf)) return {t, spec};
    }
    return {nullptr, spec};
  }
  void expect(const SafeTensor& t, const std::vector<int64_t>& shape) const {
    if (t.shape == shape) return;
    std::string want, got;
    for (int64_t d : shape) want.append(want.empty() ? "" : ", ").append(std::to_string(d));
    for (int64_t d : t.shape) got.append(got.empty() ? "" : ", ").append(std::to_string(d));
    throw Error(dir_ + ": tensor '" + t.name + "' has shape [" + got + "], expected [" + want + "]");
  }
  StoredType stored_type(const SafeTensor& t) const {
    if (t.dtype == "F32") return StoredType::F32;
    if (t.dtype == "F16") return StoredType::F16;
    if (t.dtype == "BF16") return StoredType::BF16;
    throw Error(dir_ + ": tensor '" + t.name + "' is " + t.dtype + ", which is not supported (F32, F16 and BF16 are)");
  }

  Device& device_;
  std::string dir_;
  const ArchDescription& arch_;
  const Hyperparameters& h_;
  Shards shards_;
  LoadProgress progress_;
};

}  // namespace

bool is_hf_directory(const std::string& path) { return fs::is_directory(path) && fs::exists(fs::path(path) / "config.json"); }

std::unique_ptr<Model> load_hf_model(Device& device, const std::string& dir) {
  json c = read_json_file((fs::path(dir) / "config.json").string());
  const std::string cls = architecture(c);
  const ArchDescription* arch = arch_for_hf_class(cls);
  // ChatGLM2/3 share the class name; only v1 has 2D positions.
  if (!arch || (arch->name == "chatglm6b" && !c.value("position_encoding_2d", false)))
    throw Error(dir + ": architecture '" + cls + "' is not supported (" + supported_hf_classes() + " are; ChatGLMModel only for ChatGLM-6B)");
  // A multimodal checkpoint's language model is configured in text_config; what neither gives
  // is the config class's default.
  json config = arch->hf_defaults.empty() ? json::object() : json::parse(arch->hf_defaults);
  merge_json(config, c.contains("text_config") && c["text_config"].is_object() ? c["text_config"] : c);  // nested stacks keep their defaults
  HfHyperparameters h(std::move(config), dir, *arch);
  HfTensors tensors(device, dir, *arch, h);
  return build_model(device, *arch, h, tensors);
}

}  // namespace vkllm
