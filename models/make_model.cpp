#include "models/make_model.h"

#include <cstring>
#include <random>
#include <vector>

#include "host/half.h"
#include "host/quant.h"
#include "models/gguf.h"
#include "models/gguf_writer.h"
#include "runtime/error.h"

namespace vkllm {

void make_model(const SyntheticModel& m, const std::string& path) {
  if (m.arch != "llama") throw Error("make-model: architecture '" + m.arch + "' is not supported yet (llama is)");
  if (m.type != "f16" && m.type != "q8_0") throw Error("make-model: type must be f16 or q8_0");
  if (m.dim % m.heads || m.heads % m.kv_heads || m.dim % 32 || m.ffn % 32)
    throw Error("make-model: dim must split into heads (a multiple of kv heads), and dim and ffn be multiples of 32");
  const int head_dim = m.dim / m.heads;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "vkllm synthetic llama");
  w.set_u32("general.file_type", m.type == "f16" ? 1 : 7);
  w.set_u32("llama.context_length", uint32_t(m.context));
  w.set_u32("llama.embedding_length", uint32_t(m.dim));
  w.set_u32("llama.block_count", uint32_t(m.layers));
  w.set_u32("llama.feed_forward_length", uint32_t(m.ffn));
  w.set_u32("llama.attention.head_count", uint32_t(m.heads));
  w.set_u32("llama.attention.head_count_kv", uint32_t(m.kv_heads));
  w.set_f32("llama.attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_f32("llama.rope.freq_base", 10000.0f);
  w.set_u32("llama.rope.dimension_count", uint32_t(head_dim));
  w.set_u32("llama.vocab_size", uint32_t(m.vocab));
  // A placeholder SentencePiece vocabulary: specials, the 256 byte tokens, then filler pieces.
  std::vector<std::string> tokens{"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types{2, 3, 3};
  for (int b = 0; b < 256 && int(tokens.size()) < m.vocab; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  while (int(tokens.size()) < m.vocab) {
    tokens.push_back("\xe2\x96\x81t" + std::to_string(tokens.size()));
    types.push_back(1);
  }
  w.set_string("tokenizer.ggml.model", "llama");
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_f32s("tokenizer.ggml.scores", std::vector<float>(tokens.size(), 0.0f));
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_u32("tokenizer.ggml.bos_token_id", 1);
  w.set_u32("tokenizer.ggml.eos_token_id", 2);

  std::mt19937 rng(m.seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto matrix = [&](const std::string& name, int64_t rows, int64_t cols) {
    std::vector<float> v(static_cast<size_t>(rows * cols));
    for (auto& x : v) x = normal(rng);
    std::vector<uint8_t> bytes;
    if (m.type == "q8_0") {
      bytes = quantize_q8_0(v);
    } else {
      auto h = to_f16(v);
      bytes.resize(h.size() * 2);
      std::memcpy(bytes.data(), h.data(), bytes.size());
    }
    w.add_tensor(name, {uint64_t(cols), uint64_t(rows)}, uint32_t(m.type == "q8_0" ? GgmlType::Q8_0 : GgmlType::F16),
                 std::move(bytes));
  };
  auto norm = [&](const std::string& name) {
    std::vector<float> ones(size_t(m.dim), 1.0f);
    std::vector<uint8_t> bytes(ones.size() * 4);
    std::memcpy(bytes.data(), ones.data(), bytes.size());
    w.add_tensor(name, {uint64_t(m.dim)}, uint32_t(GgmlType::F32), std::move(bytes));
  };
  const int64_t kv = int64_t(m.kv_heads) * head_dim;
  matrix("token_embd.weight", m.vocab, m.dim);
  for (int l = 0; l < m.layers; ++l) {
    const std::string b = "blk." + std::to_string(l) + ".";
    norm(b + "attn_norm.weight");
    matrix(b + "attn_q.weight", m.dim, m.dim);
    matrix(b + "attn_k.weight", kv, m.dim);
    matrix(b + "attn_v.weight", kv, m.dim);
    matrix(b + "attn_output.weight", m.dim, m.dim);
    norm(b + "ffn_norm.weight");
    matrix(b + "ffn_gate.weight", m.ffn, m.dim);
    matrix(b + "ffn_up.weight", m.ffn, m.dim);
    matrix(b + "ffn_down.weight", m.dim, m.ffn);
  }
  norm("output_norm.weight");
  matrix("output.weight", m.vocab, m.dim);
  w.write(path);
}

}  // namespace vkllm
