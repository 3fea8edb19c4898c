#include "models/hf_llama.h"

#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "host/json_file.h"

#include "models/load_progress.h"
#include "models/safetensors.h"
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

int get_int(const json& c, const char* key, const std::string& where) {
  if (!c.contains(key) || !c[key].is_number_integer()) throw Error(where + ": config.json needs the integer '" + key + "'");
  return c[key].get<int>();
}

LlamaConfig config_from(const json& c, const std::string& where) {
  const std::string arch = c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty()
                               ? c["architectures"][0].get<std::string>()
                               : "";
  if (arch != "LlamaForCausalLM" && arch != "MistralForCausalLM" && arch != "Qwen2ForCausalLM")
    throw Error(where + ": architecture '" + arch + "' is not a Llama-family model this loader knows (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM)");
  LlamaConfig cfg;
  cfg.dim = get_int(c, "hidden_size", where);
  cfg.hidden = get_int(c, "intermediate_size", where);
  cfg.n_layers = get_int(c, "num_hidden_layers", where);
  cfg.n_heads = get_int(c, "num_attention_heads", where);
  cfg.n_kv_heads = c.contains("num_key_value_heads") ? get_int(c, "num_key_value_heads", where) : cfg.n_heads;
  cfg.vocab = get_int(c, "vocab_size", where);
  cfg.context = get_int(c, "max_position_embeddings", where);
  cfg.norm_eps = c.value("rms_norm_eps", 1e-6f);
  if (cfg.n_heads <= 0 || cfg.dim % cfg.n_heads) throw Error(where + ": hidden_size is not a multiple of num_attention_heads");
  if (c.contains("head_dim") && c["head_dim"].is_number_integer() && c["head_dim"].get<int>() != cfg.dim / cfg.n_heads)
    throw Error(where + ": a head_dim other than hidden_size / num_attention_heads is not supported yet");
  cfg.rope.head_dim = cfg.head_dim();
  cfg.rope.pairing = RopePairing::HalfSplit;
  cfg.rope.theta = c.value("rope_theta", 10000.0);
  if (c.contains("rope_scaling") && c["rope_scaling"].is_object()) {
    const json& s = c["rope_scaling"];
    const std::string type = s.value("rope_type", s.value("type", std::string("default")));
    const double factor = s.value("factor", 1.0);
    if (type == "linear") {
      cfg.rope.freq_scale = 1.0 / factor;
    } else if (type == "llama3") {
      cfg.rope.llama3_factor = factor;
      cfg.rope.llama3_low_freq_factor = s.value("low_freq_factor", 1.0);
      cfg.rope.llama3_high_freq_factor = s.value("high_freq_factor", 4.0);
      cfg.rope.llama3_original_context = s.value("original_max_position_embeddings", 8192);
    } else if (type == "yarn") {
      cfg.rope.freq_scale = 1.0 / factor;
      cfg.rope.yarn_ext_factor = 1.0;
      cfg.rope.yarn_original_context = s.value("original_max_position_embeddings", cfg.context);
    } else if (type != "default") {
      throw Error(where + ": rope_scaling type '" + type + "' is not supported");
    }
  }
  cfg.validate();
  return cfg;
}

}  // namespace

bool is_hf_directory(const std::string& path) { return fs::is_directory(path) && fs::exists(fs::path(path) / "config.json"); }

std::unique_ptr<LlamaModel> load_hf_llama(Device& device, const std::string& dir) {
  const json c = read_json_file((fs::path(dir) / "config.json").string());
  const LlamaConfig cfg = config_from(c, dir);
  const Shards shards{fs::path(dir)};
  LoadProgress progress(dir, shards.total_bytes());

  auto upload = [&](const std::string& name, std::vector<int64_t> shape) {
    const SafeTensor* t = shards.find(name);
    if (!t) throw Error(dir + ": tensor '" + name + "' is missing");
    if (t->shape != shape) {
      std::string want, got;
      for (int64_t d : shape) want.append(want.empty() ? "" : ", ").append(std::to_string(d));
      for (int64_t d : t->shape) got.append(got.empty() ? "" : ", ").append(std::to_string(d));
      throw Error(dir + ": tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
    }
    StoredType type;
    if (t->dtype == "F32")
      type = StoredType::F32;
    else if (t->dtype == "F16")
      type = StoredType::F16;
    else if (t->dtype == "BF16")
      type = StoredType::BF16;
    else
      throw Error(dir + ": tensor '" + name + "' is " + t->dtype + ", which is not supported (F32, F16 and BF16 are)");
    const int64_t cols = shape.back(), rows = t->elements() / cols;
    Tensor out = upload_dense(device, type, rows, cols, t->data, name);
    progress.advance(t->bytes);
    return out;
  };
  const int64_t dim = cfg.dim, kv = int64_t(cfg.n_kv_heads) * cfg.head_dim(), ffn = cfg.hidden;
  LlamaWeights w;
  w.token_embd = upload("model.embed_tokens.weight", {cfg.vocab, dim});
  w.output_norm = upload("model.norm.weight", {dim});
  const bool tied = c.value("tie_word_embeddings", false) || !shards.find("lm_head.weight");
  w.output = Weight::plain(tied ? w.token_embd : upload("lm_head.weight", {cfg.vocab, dim}));
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto weight = [&](const std::string& name, int64_t out, int64_t in) { return Weight::plain(upload(p + name, {out, in})); };
    auto bias = [&](const std::string& name, int64_t n) { return shards.find(p + name) ? upload(p + name, {n}) : Tensor{}; };
    LlamaLayer L;
    L.attn_norm = upload(p + "input_layernorm.weight", {dim});
    L.wq = weight("self_attn.q_proj.weight", dim, dim);
    L.wk = weight("self_attn.k_proj.weight", kv, dim);
    L.wv = weight("self_attn.v_proj.weight", kv, dim);
    L.wo = weight("self_attn.o_proj.weight", dim, dim);
    L.bq = bias("self_attn.q_proj.bias", dim);
    L.bk = bias("self_attn.k_proj.bias", kv);
    L.bv = bias("self_attn.v_proj.bias", kv);
    L.ffn_norm = upload(p + "post_attention_layernorm.weight", {dim});
    L.w_gate = weight("mlp.gate_proj.weight", ffn, dim);
    L.w_up = weight("mlp.up_proj.weight", ffn, dim);
    L.w_down = weight("mlp.down_proj.weight", dim, ffn);
    w.layers.push_back(std::move(L));
  }
  return std::make_unique<LlamaModel>(device, cfg, std::move(w));
}

}  // namespace vkllm
