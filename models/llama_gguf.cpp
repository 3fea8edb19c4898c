#include "models/llama_gguf.h"

#include <cstring>

#include "models/gguf_upload.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_llama_gguf(Device& device, const GgufFile& file) {
  const std::string arch = file.get_string("general.architecture");
  if (arch != "llama" && arch != "qwen2")
    throw Error(file.path() + ": architecture '" + arch + "' is not a Llama-family model this loader knows (llama, qwen2)");
  auto key = [&](const std::string& k) { return arch + "." + k; };
  LlamaConfig c;
  c.dim = int(file.get_uint(key("embedding_length")));
  c.hidden = int(file.get_uint(key("feed_forward_length")));
  c.n_layers = int(file.get_uint(key("block_count")));
  c.n_heads = int(file.get_uint(key("attention.head_count")));
  c.n_kv_heads = int(file.get_uint(key("attention.head_count_kv"), uint64_t(c.n_heads)));
  c.context = int(file.get_uint(key("context_length")));
  c.norm_eps = float(file.get_float(key("attention.layer_norm_rms_epsilon"), 1e-5));
  const GgufTensor& embd = file.tensor("token_embd.weight");
  c.vocab = int(embd.dims.size() > 1 ? embd.dims[1] : 0);
  if (c.n_heads <= 0 || c.dim % c.n_heads) throw Error(file.path() + ": embedding_length is not a multiple of head_count");
  c.rope.head_dim = c.head_dim();
  c.rope.pairing = arch == "qwen2" ? RopePairing::HalfSplit : RopePairing::Interleaved;
  const int rot = int(file.get_uint(key("rope.dimension_count"), uint64_t(c.head_dim())));
  c.rope.rotary_dim = rot == c.head_dim() ? 0 : rot;
  c.rope.theta = file.get_float(key("rope.freq_base"), 10000.0);
  if (file.has(key("rope.scaling.type"))) {
    const std::string type = file.get_string(key("rope.scaling.type"));
    const double factor = file.get_float(key("rope.scaling.factor"), 1.0);
    if (type == "linear") {
      c.rope.freq_scale = 1.0 / factor;
    } else if (type == "yarn") {
      c.rope.freq_scale = 1.0 / factor;
      c.rope.yarn_ext_factor = 1.0;
      c.rope.yarn_original_context = int(file.get_uint(key("rope.scaling.original_context_length"), uint64_t(c.context)));
    } else if (type != "none") {
      throw Error(file.path() + ": RoPE scaling type '" + type + "' is not supported");
    }
  }
  // Every layer attends within the window (Mistral); llama.cpp ignores this key for these
  // architectures, but a model that declares a window was trained with it.
  if (const uint64_t window = file.get_uint(key("attention.sliding_window"), 0); window > 0)
    c.sliding_window.assign(size_t(c.n_layers), int(window));
  if (const GgufTensor* factors = file.find("rope_freqs.weight")) {  // Llama 3.1's scaling, as stored factors
    if (GgmlType(factors->type) != GgmlType::F32 || factors->elements() != uint64_t(c.rope.pairs()))
      throw Error(file.path() + ": rope_freqs.weight must be " + std::to_string(c.rope.pairs()) + " F32 factors, one per rotated pair");
    std::vector<float> f(size_t(factors->elements()));
    std::memcpy(f.data(), factors->data, f.size() * 4);
    c.rope.freq_factors.assign(f.begin(), f.end());
  }
  c.validate();

  LlamaWeights w;
  GgufUploader up(device, file);
  w.token_embd = up.tensor(embd);
  w.output_norm = up.tensor("output_norm.weight");
  const GgufTensor* output = file.find("output.weight");
  w.output = output ? up.weight(*output) : Weight::plain(w.token_embd);  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    auto get = [&](const char* name) { return up.tensor(b + name); };
    auto weight = [&](const char* name) { return up.weight(b + name); };
    auto optional = [&](const char* name) { return up.optional(b + name); };
    LlamaLayer L{get("attn_norm.weight"),   weight("attn_q.weight"), weight("attn_k.weight"),
                 weight("attn_v.weight"),   weight("attn_output.weight"), get("ffn_norm.weight"),
                 weight("ffn_gate.weight"), weight("ffn_up.weight"), weight("ffn_down.weight"),
                 optional("attn_q.bias"),   optional("attn_k.bias"),  optional("attn_v.bias")};
    w.layers.push_back(std::move(L));
  }
  up.log_dequantized();
  return std::make_unique<LlamaModel>(device, c, std::move(w));
}

}  // namespace vkllm
