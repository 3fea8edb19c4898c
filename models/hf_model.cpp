#include "models/hf_model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "host/json_file.h"

#include "models/chatglm.h"
#include "models/gpt2.h"
#include "models/llama.h"
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

std::string architecture(const json& c) {
  return c.contains("architectures") && c["architectures"].is_array() && !c["architectures"].empty()
             ? c["architectures"][0].get<std::string>()
             : "";
}

// Per-layer attention windows from config.json: "layer_types" where given, else Qwen2's
// use_sliding_window (layers from max_window_layers on), else Mistral's sliding_window for
// every layer. Empty when every layer is full.
std::vector<int> sliding_windows(const json& c, int n_layers, const std::string& where) {
  const int window = c.contains("sliding_window") && c["sliding_window"].is_number_integer() ? c["sliding_window"].get<int>() : 0;
  std::vector<int> out(size_t(n_layers), 0);
  if (c.contains("layer_types") && c["layer_types"].is_array()) {
    const json& types = c["layer_types"];
    if (int(types.size()) != n_layers) throw Error(where + ": layer_types needs one entry per layer");
    for (int l = 0; l < n_layers; ++l) {
      const std::string t = types[size_t(l)].is_string() ? types[size_t(l)].get<std::string>() : "";
      if (t == "sliding_attention") out[size_t(l)] = window;
      else if (t != "full_attention") throw Error(where + ": unknown layer type '" + t + "'");
    }
  } else if (c.contains("use_sliding_window")) {
    if (c.value("use_sliding_window", false))
      for (int l = c.value("max_window_layers", 0); l < n_layers; ++l) out[size_t(l)] = window;
  } else {
    std::fill(out.begin(), out.end(), window);
  }
  if (std::find_if(out.begin(), out.end(), [](int w) { return w > 0; }) == out.end()) return {};
  return out;
}

LlamaConfig llama_config(const json& c, const std::string& where) {
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
  cfg.sliding_window = sliding_windows(c, cfg.n_layers, where);
  cfg.validate();
  return cfg;
}

// Uploads named tensors after checking their shape; F32, F16 and BF16 as stored (BF16 widened).
class HfUploader {
 public:
  HfUploader(Device& device, const std::string& dir) : device_(device), dir_(dir), shards_(fs::path(dir)), progress_(dir, shards_.total_bytes()) {}
  bool has(const std::string& name) const { return shards_.find(name) != nullptr; }

  Tensor tensor(const std::string& name, const std::vector<int64_t>& shape) {
    const SafeTensor& t = expect(name, shape);
    const int64_t cols = shape.back(), rows = t.elements() / cols;
    Tensor out = upload_dense(device_, stored_type(t), rows, cols, t.data, name);
    progress_.advance(t.bytes);
    return out;
  }
  // The stored rows in the order `order` lists them (a vector is one row per element).
  Tensor rows(const std::string& name, const std::vector<int64_t>& shape, const std::vector<int64_t>& order) {
    const SafeTensor& t = expect(name, shape);
    const size_t element = t.dtype == "F32" ? 4 : 2;
    const size_t row_bytes = shape.size() > 1 ? size_t(shape.back()) * element : element;
    std::vector<uint8_t> reordered(t.bytes);
    for (size_t r = 0; r < order.size(); ++r) std::memcpy(&reordered[r * row_bytes], t.data + size_t(order[r]) * row_bytes, row_bytes);
    Tensor out = shape.size() > 1 ? upload_dense(device_, stored_type(t), shape[0], shape[1], reordered.data(), name)
                                  : upload_dense(device_, stored_type(t), 1, shape[0], reordered.data(), name);
    progress_.advance(t.bytes);
    return out;
  }
  // A matrix stored [in, out] (GPT-2's Conv1D), uploaded as [out, in].
  Tensor transposed(const std::string& name, int64_t in, int64_t out) {
    const SafeTensor& t = expect(name, {in, out});
    const size_t element = t.dtype == "F32" ? 4 : 2;
    std::vector<uint8_t> flipped(t.bytes);
    for (int64_t i = 0; i < in; ++i)
      for (int64_t o = 0; o < out; ++o)
        std::memcpy(&flipped[size_t(o * in + i) * element], t.data + size_t(i * out + o) * element, element);
    Tensor result = upload_dense(device_, stored_type(t), out, in, flipped.data(), name);
    progress_.advance(t.bytes);
    return result;
  }

 private:
  const SafeTensor& expect(const std::string& name, const std::vector<int64_t>& shape) const {
    const SafeTensor* t = shards_.find(name);
    if (!t) throw Error(dir_ + ": tensor '" + name + "' is missing");
    if (t->shape != shape) {
      std::string want, got;
      for (int64_t d : shape) want.append(want.empty() ? "" : ", ").append(std::to_string(d));
      for (int64_t d : t->shape) got.append(got.empty() ? "" : ", ").append(std::to_string(d));
      throw Error(dir_ + ": tensor '" + name + "' has shape [" + got + "], expected [" + want + "]");
    }
    stored_type(*t);  // refuses other dtypes before any work
    return *t;
  }
  StoredType stored_type(const SafeTensor& t) const {
    if (t.dtype == "F32") return StoredType::F32;
    if (t.dtype == "F16") return StoredType::F16;
    if (t.dtype == "BF16") return StoredType::BF16;
    throw Error(dir_ + ": tensor '" + t.name + "' is " + t.dtype + ", which is not supported (F32, F16 and BF16 are)");
  }

  Device& device_;
  std::string dir_;
  Shards shards_;
  LoadProgress progress_;
};

std::unique_ptr<Model> load_llama(Device& device, const std::string& dir, const json& c) {
  const LlamaConfig cfg = llama_config(c, dir);
  HfUploader up(device, dir);
  const int64_t dim = cfg.dim, kv = int64_t(cfg.n_kv_heads) * cfg.head_dim(), ffn = cfg.hidden;
  LlamaWeights w;
  w.token_embd = up.tensor("model.embed_tokens.weight", {cfg.vocab, dim});
  w.output_norm = up.tensor("model.norm.weight", {dim});
  const bool tied = c.value("tie_word_embeddings", false) || !up.has("lm_head.weight");
  w.output = Weight::plain(tied ? w.token_embd : up.tensor("lm_head.weight", {cfg.vocab, dim}));
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string p = "model.layers." + std::to_string(l) + ".";
    auto weight = [&](const std::string& name, int64_t out, int64_t in) { return Weight::plain(up.tensor(p + name, {out, in})); };
    auto bias = [&](const std::string& name, int64_t n) { return up.has(p + name) ? up.tensor(p + name, {n}) : Tensor{}; };
    LlamaLayer L;
    L.attn_norm = up.tensor(p + "input_layernorm.weight", {dim});
    L.wq = weight("self_attn.q_proj.weight", dim, dim);
    L.wk = weight("self_attn.k_proj.weight", kv, dim);
    L.wv = weight("self_attn.v_proj.weight", kv, dim);
    L.wo = weight("self_attn.o_proj.weight", dim, dim);
    L.bq = bias("self_attn.q_proj.bias", dim);
    L.bk = bias("self_attn.k_proj.bias", kv);
    L.bv = bias("self_attn.v_proj.bias", kv);
    L.ffn_norm = up.tensor(p + "post_attention_layernorm.weight", {dim});
    L.w_gate = weight("mlp.gate_proj.weight", ffn, dim);
    L.w_up = weight("mlp.up_proj.weight", ffn, dim);
    L.w_down = weight("mlp.down_proj.weight", dim, ffn);
    w.layers.push_back(std::move(L));
  }
  return std::make_unique<LlamaModel>(device, cfg, std::move(w));
}

std::unique_ptr<Model> load_gpt2(Device& device, const std::string& dir, const json& c) {
  Gpt2Config cfg;
  cfg.dim = get_int(c, "n_embd", dir);
  cfg.n_layers = get_int(c, "n_layer", dir);
  cfg.n_heads = get_int(c, "n_head", dir);
  cfg.vocab = get_int(c, "vocab_size", dir);
  cfg.context = get_int(c, "n_positions", dir);
  cfg.hidden = c.contains("n_inner") && c["n_inner"].is_number_integer() ? c["n_inner"].get<int>() : 4 * cfg.dim;
  cfg.norm_eps = c.value("layer_norm_epsilon", 1e-5f);
  const std::string activation = c.value("activation_function", std::string("gelu_new"));
  if (activation != "gelu_new" && activation != "gelu_pytorch_tanh")
    throw Error(dir + ": activation_function '" + activation + "' is not supported (gelu_new is)");
  cfg.validate();
  HfUploader up(device, dir);
  // Checkpoints name tensors with or without the "transformer." prefix.
  const std::string p = up.has("transformer.wte.weight") ? "transformer." : "";
  const int64_t dim = cfg.dim, ffn = cfg.hidden;
  Gpt2Weights w;
  w.token_embd = up.tensor(p + "wte.weight", {cfg.vocab, dim});
  w.position_embd = up.tensor(p + "wpe.weight", {cfg.context, dim});
  w.output_norm = up.tensor(p + "ln_f.weight", {dim});
  w.output_norm_bias = up.tensor(p + "ln_f.bias", {dim});
  const bool tied = c.value("tie_word_embeddings", true) || !up.has("lm_head.weight");
  w.output = Weight::plain(tied ? w.token_embd : up.tensor("lm_head.weight", {cfg.vocab, dim}));
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = p + "h." + std::to_string(l) + ".";
    Gpt2Layer L;
    L.attn_norm = up.tensor(b + "ln_1.weight", {dim});
    L.attn_norm_bias = up.tensor(b + "ln_1.bias", {dim});
    set_fused_qkv(L, Weight::plain(up.transposed(b + "attn.c_attn.weight", dim, 3 * dim)), up.tensor(b + "attn.c_attn.bias", {3 * dim}),
                  dim);
    L.wo = Weight::plain(up.transposed(b + "attn.c_proj.weight", dim, dim));
    L.bo = up.tensor(b + "attn.c_proj.bias", {dim});
    L.ffn_norm = up.tensor(b + "ln_2.weight", {dim});
    L.ffn_norm_bias = up.tensor(b + "ln_2.bias", {dim});
    L.w_up = Weight::plain(up.transposed(b + "mlp.c_fc.weight", dim, ffn));
    L.b_up = up.tensor(b + "mlp.c_fc.bias", {ffn});
    L.w_down = Weight::plain(up.transposed(b + "mlp.c_proj.weight", ffn, dim));
    L.b_down = up.tensor(b + "mlp.c_proj.bias", {dim});
    w.layers.push_back(std::move(L));
  }
  return std::make_unique<Gpt2Model>(device, cfg, std::move(w));
}

// ChatGLM-6B (v1): query_key_value rows are per head [q k v]; they are reordered to
// [q; k; v] on the host. The residual scale comes from config.json's num_layers.
std::unique_ptr<Model> load_chatglm6b(Device& device, const std::string& dir, const json& c) {
  ChatGlmConfig cfg;
  cfg.dim = get_int(c, "hidden_size", dir);
  cfg.n_heads = get_int(c, "num_attention_heads", dir);
  cfg.vocab = get_int(c, "vocab_size", dir);
  cfg.context = get_int(c, "max_sequence_length", dir);
  cfg.hidden = c.contains("inner_hidden_size") ? get_int(c, "inner_hidden_size", dir) : 4 * cfg.dim;
  cfg.norm_eps = c.value("layernorm_epsilon", 1e-5f);
  cfg.alpha = std::sqrt(2.0f * float(get_int(c, "num_layers", dir)));
  cfg.gmask_id = c.value("gmask_token_id", cfg.gmask_id);
  cfg.bos_id = c.value("bos_token_id", cfg.bos_id);
  HfUploader up(device, dir);
  cfg.n_layers = 0;  // the layers the checkpoint holds
  while (up.has("transformer.layers." + std::to_string(cfg.n_layers) + ".input_layernorm.weight")) ++cfg.n_layers;
  cfg.validate();
  const int64_t dim = cfg.dim, ffn = cfg.hidden;
  ChatGlmWeights w;
  w.token_embd = up.tensor("transformer.word_embeddings.weight", {cfg.vocab, dim});
  w.output_norm = up.tensor("transformer.final_layernorm.weight", {dim});
  w.output_norm_bias = up.tensor("transformer.final_layernorm.bias", {dim});
  w.output = Weight::plain(up.has("lm_head.weight") ? up.tensor("lm_head.weight", {cfg.vocab, dim}) : w.token_embd);
  const std::vector<int64_t> qkv_rows = chatglm_qkv_rows(cfg.n_heads, cfg.head_dim());
  for (int l = 0; l < cfg.n_layers; ++l) {
    const std::string b = "transformer.layers." + std::to_string(l) + ".";
    ChatGlmLayer L;
    L.attn_norm = up.tensor(b + "input_layernorm.weight", {dim});
    L.attn_norm_bias = up.tensor(b + "input_layernorm.bias", {dim});
    set_fused_qkv(L, Weight::plain(up.rows(b + "attention.query_key_value.weight", {3 * dim, dim}, qkv_rows)),
                  up.rows(b + "attention.query_key_value.bias", {3 * dim}, qkv_rows), dim);
    L.wo = Weight::plain(up.tensor(b + "attention.dense.weight", {dim, dim}));
    L.bo = up.tensor(b + "attention.dense.bias", {dim});
    L.ffn_norm = up.tensor(b + "post_attention_layernorm.weight", {dim});
    L.ffn_norm_bias = up.tensor(b + "post_attention_layernorm.bias", {dim});
    L.w_up = Weight::plain(up.tensor(b + "mlp.dense_h_to_4h.weight", {ffn, dim}));
    L.b_up = up.tensor(b + "mlp.dense_h_to_4h.bias", {ffn});
    L.w_down = Weight::plain(up.tensor(b + "mlp.dense_4h_to_h.weight", {dim, ffn}));
    L.b_down = up.tensor(b + "mlp.dense_4h_to_h.bias", {dim});
    w.layers.push_back(std::move(L));
  }
  return std::make_unique<ChatGlmModel>(device, cfg, std::move(w));
}

}  // namespace

bool is_hf_directory(const std::string& path) { return fs::is_directory(path) && fs::exists(fs::path(path) / "config.json"); }

std::unique_ptr<Model> load_hf_model(Device& device, const std::string& dir) {
  const json c = read_json_file((fs::path(dir) / "config.json").string());
  const std::string arch = architecture(c);
  if (arch == "LlamaForCausalLM" || arch == "MistralForCausalLM" || arch == "Qwen2ForCausalLM") return load_llama(device, dir, c);
  if (arch == "GPT2LMHeadModel") return load_gpt2(device, dir, c);
  // ChatGLM2/3 share the class name; only v1 has 2D positions.
  if (arch == "ChatGLMModel" && c.value("position_encoding_2d", false)) return load_chatglm6b(device, dir, c);
  throw Error(dir + ": architecture '" + arch +
              "' is not supported (LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM, GPT2LMHeadModel and ChatGLM-6B's "
              "ChatGLMModel are)");
}

}  // namespace vkllm
