#include "models/llama2c.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <vector>

#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

std::unique_ptr<LlamaModel> load_llama2c(Device& device, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open llama2.c checkpoint " + path);
  int32_t h[7];
  if (!in.read(reinterpret_cast<char*>(h), sizeof h)) throw Error(path + ": too short for a llama2.c header");
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i)
    if (h[i] == 0 || (i != 5 && h[i] < 0) || std::abs(int64_t(h[i])) > (int64_t(1) << 24))
      throw Error(path + ": implausible header field " + names[i] + " = " + std::to_string(h[i]));
  LlamaConfig c;
  c.dim = h[0];
  c.hidden = h[1];
  c.n_layers = h[2];
  c.n_heads = h[3];
  c.n_kv_heads = h[4];
  const bool tied = h[5] > 0;
  c.vocab = tied ? h[5] : -h[5];
  c.context = h[6];
  if (c.dim % c.n_heads || c.n_heads % c.n_kv_heads)
    throw Error(path + ": dim " + std::to_string(c.dim) + " and heads " + std::to_string(c.n_heads) + "/" +
                std::to_string(c.n_kv_heads) + " do not divide");
  c.rope.head_dim = c.head_dim();
  c.rope.pairing = RopePairing::Interleaved;
  c.rope.theta = 10000.0;

  const int64_t L = c.n_layers, d = c.dim, f = c.hidden, kv = int64_t(c.n_kv_heads) * c.head_dim(), v = c.vocab;
  const int64_t weights = v * d + L * d + 2 * L * d * d + 2 * L * kv * d + L * d + 3 * L * f * d + d + (tied ? 0 : v * d);
  const int64_t freq_cis = int64_t(c.context) * c.head_dim();  // two legacy arrays of seq_len * head_dim / 2
  const int64_t size = int64_t(std::filesystem::file_size(path)), expected = 28 + 4 * weights;
  if (size != expected && size != expected + 4 * freq_cis)
    throw Error(path + ": " + std::to_string(size) + " bytes, but its header describes " + std::to_string(expected) +
                " (or " + std::to_string(expected + 4 * freq_cis) + " with the legacy RoPE tables): truncated or not a llama2.c file");

  // Reads `layers` consecutive [rows, cols] matrices into device tensors.
  auto read = [&](int64_t layers, int64_t rows, int64_t cols, const char* name) {
    std::vector<Tensor> out;
    std::vector<float> buf(static_cast<size_t>(rows * cols));
    for (int64_t l = 0; l < layers; ++l) {
      if (!in.read(reinterpret_cast<char*>(buf.data()), std::streamsize(buf.size() * 4)))
        throw Error(path + ": truncated while reading " + name);
      out.push_back(device.tensor(DType::F32, rows, cols, name));
      device.upload(out.back(), buf.data());
    }
    return out;
  };
  LlamaWeights w;
  w.token_embd = read(1, v, d, "token_embd")[0];
  auto attn_norm = read(L, 1, d, "attn_norm"), wq = read(L, d, d, "wq"), wk = read(L, kv, d, "wk");
  auto wv = read(L, kv, d, "wv"), wo = read(L, d, d, "wo"), ffn_norm = read(L, 1, d, "ffn_norm");
  auto w1 = read(L, f, d, "w1"), w2 = read(L, d, f, "w2"), w3 = read(L, f, d, "w3");
  w.output_norm = read(1, 1, d, "output_norm")[0];
  if (tied) {
    w.output = Weight::plain(w.token_embd);
  } else {
    in.seekg(4 * freq_cis, std::ios::cur);  // the classifier follows the legacy RoPE tables
    w.output = Weight::plain(read(1, v, d, "output")[0]);
  }
  for (size_t l = 0; l < size_t(L); ++l)
    w.layers.push_back({attn_norm[l], Weight::plain(wq[l]), Weight::plain(wk[l]), Weight::plain(wv[l]),
                        Weight::plain(wo[l]), ffn_norm[l], Weight::plain(w1[l]), Weight::plain(w3[l]),
                        Weight::plain(w2[l]), {}, {}, {}});
  return std::make_unique<LlamaModel>(device, c, std::move(w));
}

}  // namespace vkllm
