#include "models/gpt2_gguf.h"

#include "models/gguf_upload.h"
#include "runtime/error.h"

namespace vkllm {

Gpt2Layer load_biased_block(GgufUploader& up, const GgufFile& file, int layer, int64_t dim) {
  const std::string b = "blk." + std::to_string(layer) + ".";
  Gpt2Layer L;
  L.attn_norm = up.tensor(b + "attn_norm.weight");
  L.attn_norm_bias = up.tensor(b + "attn_norm.bias");
  try {
    set_fused_qkv(L, up.weight(b + "attn_qkv.weight"), up.tensor(b + "attn_qkv.bias"), dim);
  } catch (const Error& e) {
    throw Error(file.path() + ": " + b + "attn_qkv: " + e.what());
  }
  L.wo = up.weight(b + "attn_output.weight");
  L.bo = up.tensor(b + "attn_output.bias");
  L.ffn_norm = up.tensor(b + "ffn_norm.weight");
  L.ffn_norm_bias = up.tensor(b + "ffn_norm.bias");
  L.w_up = up.weight(b + "ffn_up.weight");
  L.b_up = up.tensor(b + "ffn_up.bias");
  L.w_down = up.weight(b + "ffn_down.weight");
  L.b_down = up.tensor(b + "ffn_down.bias");
  return L;
}

std::unique_ptr<Gpt2Model> load_gpt2_gguf(Device& device, const GgufFile& file) {
  const std::string arch = file.get_string("general.architecture");
  if (arch != "gpt2") throw Error(file.path() + ": architecture '" + arch + "' is not gpt2");
  Gpt2Config c;
  c.dim = int(file.get_uint("gpt2.embedding_length"));
  c.hidden = int(file.get_uint("gpt2.feed_forward_length"));
  c.n_layers = int(file.get_uint("gpt2.block_count"));
  c.n_heads = int(file.get_uint("gpt2.attention.head_count"));
  c.context = int(file.get_uint("gpt2.context_length"));
  c.norm_eps = float(file.get_float("gpt2.attention.layer_norm_epsilon", 1e-5));
  const GgufTensor& embd = file.tensor("token_embd.weight");
  c.vocab = int(embd.dims.size() > 1 ? embd.dims[1] : 0);
  c.validate();

  GgufUploader up(device, file);
  Gpt2Weights w;
  w.token_embd = up.tensor(embd);
  w.position_embd = up.tensor("position_embd.weight");
  w.output_norm = up.tensor("output_norm.weight");
  w.output_norm_bias = up.tensor("output_norm.bias");
  const GgufTensor* output = file.find("output.weight");
  w.output = output ? up.weight(*output) : Weight::plain(w.token_embd);  // absent: tied
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_biased_block(up, file, l, c.dim));
  up.log_dequantized();
  return std::make_unique<Gpt2Model>(device, c, std::move(w));
}

}  // namespace vkllm
