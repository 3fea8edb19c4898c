#include "models/chatglm_gguf.h"

#include "models/gguf_upload.h"
#include "models/gpt2_gguf.h"
#include "runtime/error.h"

namespace vkllm {

std::unique_ptr<ChatGlmModel> load_chatglm_gguf(Device& device, const GgufFile& file) {
  const std::string arch = file.get_string("general.architecture");
  if (arch != "chatglm6b") throw Error(file.path() + ": architecture '" + arch + "' is not chatglm6b");
  ChatGlmConfig c;
  c.dim = int(file.get_uint("chatglm6b.embedding_length"));
  c.hidden = int(file.get_uint("chatglm6b.feed_forward_length"));
  c.n_layers = int(file.get_uint("chatglm6b.block_count"));
  c.n_heads = int(file.get_uint("chatglm6b.attention.head_count"));
  c.context = int(file.get_uint("chatglm6b.context_length"));
  c.norm_eps = float(file.get_float("chatglm6b.attention.layer_norm_epsilon", 1e-5));
  c.alpha = float(file.get_float("chatglm6b.residual_alpha", 0.0));
  c.gmask_id = int32_t(file.get_uint("chatglm6b.gmask_token_id", uint64_t(c.gmask_id)));
  c.bos_id = int32_t(file.get_uint("tokenizer.ggml.bos_token_id", uint64_t(c.bos_id)));
  const GgufTensor& embd = file.tensor("token_embd.weight");
  c.vocab = int(embd.dims.size() > 1 ? embd.dims[1] : 0);
  c.validate();

  GgufUploader up(device, file);
  ChatGlmWeights w;
  w.token_embd = up.tensor(embd);
  w.output_norm = up.tensor("output_norm.weight");
  w.output_norm_bias = up.tensor("output_norm.bias");
  const GgufTensor* output = file.find("output.weight");
  w.output = output ? up.weight(*output) : Weight::plain(w.token_embd);
  for (int l = 0; l < c.n_layers; ++l) w.layers.push_back(load_biased_block(up, file, l, c.dim));
  up.log_dequantized();
  return std::make_unique<ChatGlmModel>(device, c, std::move(w));
}

}  // namespace vkllm
