#include "models/llama_gguf.h"

#include <cstdio>
#include <set>

#include <cstring>
#include <vector>

#include "host/half.h"
#include "models/dequantize.h"
#include "models/load_progress.h"
#include "models/upload.h"
#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

// Uploads GGUF tensors as [rows = product of outer dims, cols = dims[0]]. Types without a kernel
// for their use are dequantized to f16; `dequantized` collects their type names for the log.
struct Uploader {
  Device& device;
  const GgufFile& file;
  LoadProgress progress;
  std::set<std::string> dequantized;

  Uploader(Device& d, const GgufFile& f) : device(d), file(f), progress(f.path(), total_bytes(f)) {}
  static uint64_t total_bytes(const GgufFile& f) {
    uint64_t n = 0;
    for (const auto& t : f.tensors()) n += t.bytes;
    return n;
  }

  Tensor tensor(const GgufTensor& t) {
    Tensor out = convert(t);
    progress.advance(t.bytes);
    return out;
  }

  // A projection matrix: Q8_0 stays quantized for the native kernel; other types as tensor().
  Weight weight(const GgufTensor& t) {
    if (GgmlType(t.type) != GgmlType::Q8_0 || t.dims.size() != 2) return Weight::plain(tensor(t));
    Weight w = Weight::from_q8_0_blocks(device, int64_t(t.dims[1]), int64_t(t.dims[0]), {t.data, size_t(t.bytes)}, t.name);
    progress.advance(t.bytes);
    return w;
  }

 private:
  Tensor convert(const GgufTensor& t) {
    const int64_t cols = int64_t(t.dims[0]), rows = int64_t(t.elements() / t.dims[0]);
    switch (GgmlType(t.type)) {
      case GgmlType::F32:
        return upload_dense(device, StoredType::F32, rows, cols, t.data, t.name);
      case GgmlType::F16:
        return upload_dense(device, StoredType::F16, rows, cols, t.data, t.name);
      case GgmlType::BF16:
        return upload_dense(device, StoredType::BF16, rows, cols, t.data, t.name);
      default: {
        if (!can_dequantize(t.type))
          throw Error(file.path() + ": tensor '" + t.name + "' is " + ggml_type_name(t.type) + ", which is not supported yet (" +
                      supported_types() + " are)");
        dequantized.insert(ggml_type_name(t.type));
        Tensor out = device.tensor(DType::F16, rows, cols, t.name);
        device.upload(out, to_f16(dequantize(t)).data());
        return out;
      }
    }
  }
};

}  // namespace

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
  if (file.find("rope_freqs.weight"))
    throw Error(file.path() + ": per-frequency RoPE factors (rope_freqs.weight, Llama 3.1) are not supported yet");
  c.validate();

  LlamaWeights w;
  Uploader up(device, file);
  w.token_embd = up.tensor(embd);
  w.output_norm = up.tensor(file.tensor("output_norm.weight"));
  const GgufTensor* output = file.find("output.weight");
  w.output = output ? up.weight(*output) : Weight::plain(w.token_embd);  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    auto get = [&](const char* name) { return up.tensor(file.tensor(b + name)); };
    auto weight = [&](const char* name) { return up.weight(file.tensor(b + name)); };
    auto optional = [&](const char* name) {
      const GgufTensor* t = file.find(b + name);
      return t ? up.tensor(*t) : Tensor{};
    };
    LlamaLayer L{get("attn_norm.weight"),   weight("attn_q.weight"), weight("attn_k.weight"),
                 weight("attn_v.weight"),   weight("attn_output.weight"), get("ffn_norm.weight"),
                 weight("ffn_gate.weight"), weight("ffn_up.weight"), weight("ffn_down.weight"),
                 optional("attn_q.bias"),   optional("attn_k.bias"),  optional("attn_v.bias")};
    w.layers.push_back(std::move(L));
  }
  for (const auto& type : up.dequantized)
    std::fprintf(stderr, "vkllm: %s: some %s tensors dequantized to F16 on load (no native kernel for them yet)\n",
                 file.path().c_str(), type.c_str());
  return std::make_unique<LlamaModel>(device, c, std::move(w));
}

}  // namespace vkllm
