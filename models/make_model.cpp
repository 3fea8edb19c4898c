#include "models/make_model.h"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <vector>

#include "host/half.h"
#include "host/quant.h"
#include "host/tokenizer/byte_alphabet.h"
#include "models/arch.h"
#include "models/gguf.h"
#include "models/gguf_writer.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
// general.file_type as llama.cpp numbers its mixes.
const std::map<std::string, uint32_t> kFileTypes{{"f32", 0}, {"f16", 1}, {"q4_0", 2}, {"q8_0", 7}, {"q4_k_m", 15}, {"q5_k_m", 17}, {"q6_k", 18}};

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool more_bits(int layer, int layers) {
  return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
}

// The type llama.cpp's quantizer gives matrix `name` under `mix`: the output matrix (or the
// embedding tied to it) Q6_K in every mix below Q8_0, Q8_0 where its rows do not split into
// 256-value super-blocks (llama.cpp's fallback); in the _M mixes attn_v and ffn_down of the
// more_bits layers Q6_K.
GgmlType matrix_type(const std::string& mix, const std::string& name, int layers, int64_t cols, bool tied) {
  if (mix == "f32") return GgmlType::F32;
  if (mix == "f16") return GgmlType::F16;
  if (mix == "q8_0") return GgmlType::Q8_0;
  if (name == "output.weight" || (tied && (name == "token_embd.weight" || name == "dec.token_embd.weight"))) return cols % 256 ? GgmlType::Q8_0 : GgmlType::Q6_K;
  if (mix == "q4_0") return GgmlType::Q4_0;
  if (mix == "q6_k") return GgmlType::Q6_K;
  const GgmlType base = mix == "q4_k_m" ? GgmlType::Q4_K : GgmlType::Q5_K;
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) == 1 &&
      (name.find(".attn_v.") != std::string::npos || name.find(".ffn_down.") != std::string::npos) && more_bits(layer, layers))
    return GgmlType::Q6_K;
  if (name.find(".attn_qkv.") != std::string::npos) return mix == "q4_k_m" ? GgmlType::Q5_K : GgmlType::Q6_K;
  return base;
}

std::vector<uint8_t> encode(GgmlType type, const std::vector<float>& v) {
  switch (type) {
    case GgmlType::Q8_0: return quantize_q8_0(v);
    case GgmlType::Q4_0: return quantize_q4_0(v);
    case GgmlType::Q4_K: return quantize_q4_k(v);
    case GgmlType::Q5_K: return quantize_q5_k(v);
    case GgmlType::Q6_K: return quantize_q6_k(v);
    case GgmlType::F32: {
      std::vector<uint8_t> bytes(v.size() * 4);
      std::memcpy(bytes.data(), v.data(), bytes.size());
      return bytes;
    }
    default: {
      const auto h = to_f16(v);
      std::vector<uint8_t> bytes(h.size() * 2);
      std::memcpy(bytes.data(), h.data(), bytes.size());
      return bytes;
    }
  }
}
}  // namespace

namespace {

// Placeholder vocabularies (random weights need no real one, but tools and llama.cpp expect
// a complete tokenizer): SentencePiece for llama, gemma and chatglm6b, byte-level BPE for
// qwen2, gpt2 and bart. Gemma's specials come first (<pad> <eos> <bos> <unk>) and it adds no space
// prefix; T5's are <pad> </s> <unk>, it is Unigram ("t5") and adds no BOS; ChatGLM-6B's last two pieces are
// [gMASK] and <sop> (its BOS).
enum class SpmStyle { Llama, Gemma, T5, Glm };
void write_spm_vocab(GgufWriter& w, int vocab, SpmStyle style) {
  // Specials, the 256 byte tokens, "▁" and the letters, then filler pieces.
  const bool glm = style == SpmStyle::Glm, gemma = style == SpmStyle::Gemma, t5 = style == SpmStyle::T5;
  std::vector<std::string> tokens = gemma ? std::vector<std::string>{"<pad>", "<eos>", "<bos>", "<unk>"}
                                    : t5  ? std::vector<std::string>{"<pad>", "</s>", "<unk>"}
                                          : std::vector<std::string>{"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = gemma ? std::vector<int32_t>{3, 3, 3, 2} : t5 ? std::vector<int32_t>{3, 3, 2} : std::vector<int32_t>{2, 3, 3};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
  }
  tokens.push_back("\xe2\x96\x81");
  types.push_back(1);
  for (char c = 'a'; c <= 'z' && int(tokens.size()) < vocab; ++c) {
    tokens.push_back(std::string(1, c));
    types.push_back(1);
  }
  const int fillers_end = glm ? vocab - 2 : vocab;
  while (int(tokens.size()) < fillers_end) {
    tokens.push_back("\xe2\x96\x81t" + std::to_string(tokens.size()));
    types.push_back(1);
  }
  if (glm) {
    tokens.insert(tokens.end(), {"[gMASK]", "<sop>"});
    types.insert(types.end(), {3, 3});
    w.set_u32("chatglm6b.gmask_token_id", uint32_t(vocab - 2));
    w.set_bool("tokenizer.ggml.add_bos_token", false);  // BOS follows [gMASK] at the end instead
  }
  // T5's is a Unigram vocabulary: longer pieces score a little higher, so whole words win.
  std::vector<float> scores(tokens.size(), 0.0f);
  if (t5)
    for (size_t i = 0; i < tokens.size(); ++i) scores[i] = -10.0f + 0.5f * float(tokens[i].size());
  w.set_string("tokenizer.ggml.model", t5 ? "t5" : "llama");
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_f32s("tokenizer.ggml.scores", scores);
  w.set_i32s("tokenizer.ggml.token_type", types);
  if (t5) {
    w.set_u32("tokenizer.ggml.eos_token_id", 1);
    w.set_u32("tokenizer.ggml.unknown_token_id", 2);
    w.set_u32("tokenizer.ggml.padding_token_id", 0);
    w.set_bool("tokenizer.ggml.add_bos_token", false);
    return;
  }
  w.set_u32("tokenizer.ggml.bos_token_id", glm ? uint32_t(vocab - 1) : gemma ? 2 : 1);
  w.set_u32("tokenizer.ggml.eos_token_id", gemma ? 1 : 2);
  if (gemma) {
    w.set_u32("tokenizer.ggml.unknown_token_id", 3);
    w.set_u32("tokenizer.ggml.padding_token_id", 0);
    w.set_bool("tokenizer.ggml.add_space_prefix", false);
  }
}

// The 256 byte characters, pairs of letters with their merges, control fillers, and
// <|endoftext|> last.
void write_byte_level_vocab(GgufWriter& w, int vocab, const char* pre) {
  const ByteAlphabet& bytes = byte_alphabet();
  std::vector<std::string> tokens, merges;
  for (int b = 0; b < 256; ++b) tokens.push_back(bytes.of_byte[b]);
  for (char a = 'a'; a <= 'z' && int(tokens.size()) < vocab - 1; ++a)
    for (char b = 'a'; b <= 'z' && int(tokens.size()) < vocab - 1; ++b) {
      tokens.push_back(std::string{a, b});
      merges.push_back(std::string{a, ' ', b});
    }
  while (int(tokens.size()) < vocab - 1) tokens.push_back("<|filler_" + std::to_string(tokens.size()) + "|>");
  tokens.push_back("<|endoftext|>");
  std::vector<int32_t> types(tokens.size(), 1);
  for (size_t i = 256 + merges.size(); i < tokens.size(); ++i) types[i] = 3;
  w.set_string("tokenizer.ggml.model", "gpt2");
  w.set_string("tokenizer.ggml.pre", pre);
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_strings("tokenizer.ggml.merges", merges);
  w.set_u32("tokenizer.ggml.bos_token_id", uint32_t(vocab - 1));
  w.set_u32("tokenizer.ggml.eos_token_id", uint32_t(vocab - 1));
}

}  // namespace

void make_model(const SyntheticModel& m, const std::string& path) {
  const bool qwen2 = m.arch == "qwen2", gpt2 = m.arch == "gpt2", glm = m.arch == "chatglm6b";
  const bool t5gemma = m.arch == "t5gemma" || m.arch == "t5gemma2";
  const bool gemma3 = m.arch == "gemma3" || m.arch == "t5gemma2", gemma = m.arch == "gemma2" || gemma3 || t5gemma;
  const bool t5 = m.arch == "t5", bart = m.arch == "bart";
  // No output matrix: the embedding serves (T5Gemma: the decoder's; T5Gemma 2: the encoder's,
  // its only one), as in every Gemma, BART and the original T5.
  const bool tied = gemma || bart || (t5 && m.t5_v1_0);
  if (m.t5_v1_0 && !t5) throw Error("make-model: t5_v1_0 is for the t5 architecture");
  const bool biased_blocks = gpt2 || glm;  // the GPT-2 block layout (LayerNorm, fused q/k/v, biases)
  const ArchDescription* found = nullptr;
  try {
    found = &arch_description(m.arch);
  } catch (const Error& e) {
    throw Error(std::string("make-model: ") + e.what());
  }
  const ArchDescription& arch = *found;
  if ((biased_blocks || t5 || bart) && m.kv_heads != m.heads) throw Error("make-model: " + m.arch + " has as many kv heads as heads");
  const auto file_type = kFileTypes.find(m.type);
  if (file_type == kFileTypes.end()) throw Error("make-model: type must be f32, f16, q8_0, q4_0, q4_k_m, q5_k_m or q6_k");
  if (m.head_dim != 0 && !gemma && !t5)
    throw Error("make-model: a head_dim of its own is for gemma2, gemma3, t5gemma, t5gemma2 and t5 (others split dim into heads)");
  if (m.heads <= 0 || m.kv_heads <= 0 || m.heads % m.kv_heads || m.head_dim < 0 || m.head_dim % 2)
    throw Error("make-model: heads must be a positive multiple of kv heads, and head_dim even");
  const int head_dim = m.head_dim ? m.head_dim : m.dim / m.heads;
  const int64_t q_width = int64_t(m.heads) * head_dim, kv_width = int64_t(m.kv_heads) * head_dim;
  const bool k_quants = m.type != "f32" && m.type != "f16" && m.type != "q8_0" && m.type != "q4_0";
  if (k_quants && (m.dim % 256 || m.ffn % 256 || kv_width % 256 || q_width % 256))
    throw Error("make-model: " + m.type + " needs dim, ffn and heads (and kv heads) x head size to be multiples of 256 (K-quant super-blocks)");
  if ((!m.head_dim && m.dim % m.heads) || m.dim % 32 || m.ffn % 32 || q_width % 32)
    throw Error("make-model: dim must split into heads, and dim, ffn and heads x head size be multiples of 32");
  if (m.sliding_window < 0 || (m.sliding_window > 0 && (biased_blocks || t5 || bart)))
    throw Error("make-model: gpt2, chatglm6b, t5 and bart have no sliding window");
  if (m.vocab < 260) throw Error("make-model: the vocabulary needs at least 260 tokens (bytes and specials)");
  const std::string a = m.arch + ".";
  GgufWriter w;
  w.set_string("general.architecture", m.arch);
  w.set_string("general.name", "vkllm synthetic " + m.arch);
  w.set_u32("general.file_type", file_type->second);
  // A model's keys; t5gemma's are each stack's, the decoder's under "decoder.".
  auto write_stack = [&](const std::string& k) {
    w.set_u32(k + "context_length", uint32_t(m.context));
    w.set_u32(k + "embedding_length", uint32_t(m.dim));
    w.set_u32(k + "block_count", uint32_t(m.layers));
    w.set_u32(k + "feed_forward_length", uint32_t(m.ffn));
    w.set_u32(k + "attention.head_count", uint32_t(m.heads));
    w.set_u32(k + "attention.head_count_kv", uint32_t(m.kv_heads));
    if (biased_blocks || bart) {
      w.set_f32(k + "attention.layer_norm_epsilon", 1e-5f);
    } else if (t5) {  // as Flan-T5: 32 relative buckets, gated GELU, separate LM head
      w.set_f32(k + "attention.layer_norm_rms_epsilon", 1e-6f);
      w.set_u32(k + "attention.relative_buckets_count", 32);
    } else {
      w.set_f32(k + "attention.layer_norm_rms_epsilon", qwen2 || gemma ? 1e-6f : 1e-5f);
      w.set_f32(k + "rope.freq_base", qwen2 || gemma3 ? 1000000.0f : 10000.0f);
      w.set_u32(k + "rope.dimension_count", uint32_t(head_dim));
      if (m.sliding_window > 0) w.set_u32(k + "attention.sliding_window", uint32_t(m.sliding_window));
    }
    if (gemma || t5) {
      w.set_u32(k + "attention.key_length", uint32_t(head_dim));
      w.set_u32(k + "attention.value_length", uint32_t(head_dim));
    }
    if (gemma) w.set_f32(k + "query_pre_attn_scalar", float(head_dim));  // what Gemma's configs say, not left to defaults
    if (m.arch == "gemma2" || m.arch == "t5gemma") {  // as Gemma 2 2B
      w.set_f32(k + "attn_logit_softcapping", 50.0f);
      w.set_f32(k + "final_logit_softcapping", 30.0f);
    }
  };
  write_stack(a);
  if (t5gemma) {  // two stacks alike (as T5Gemma 2B-2B, T5Gemma 2 270M-270M); the decoder starts with Gemma's BOS
    write_stack(a + "decoder.");
    w.set_u32(a + "vocab_size", uint32_t(m.vocab));
    w.set_u32(a + "decoder.vocab_size", uint32_t(m.vocab));
    w.set_u32(a + "decoder_start_token_id", 2);
  } else if (bart) {  // both stacks alike; the decoder starts with </s>, as BART's, here the vocabulary's last
    w.set_u32(a + "decoder_block_count", uint32_t(m.layers));
    w.set_u32(a + "decoder_feed_forward_length", uint32_t(m.ffn));
    w.set_u32(a + "decoder_attention.head_count", uint32_t(m.heads));
    w.set_u32(a + "decoder_start_token_id", uint32_t(m.vocab - 1));
  } else if (t5) {
    w.set_u32(a + "decoder_start_token_id", 0);
  }
  if (qwen2 || gpt2 || bart)
    write_byte_level_vocab(w, m.vocab, qwen2 ? "qwen2" : "gpt-2");
  else
    write_spm_vocab(w, m.vocab, glm ? SpmStyle::Glm : gemma ? SpmStyle::Gemma : t5 ? SpmStyle::T5 : SpmStyle::Llama);
  if (!m.chat_template.empty()) w.set_string("tokenizer.chat_template", m.chat_template);

  // The tensors the architecture's description lists, filled by what each one is: model-level
  // ones before the first per-layer one, every layer's, then the remaining model-level ones.
  std::mt19937 rng(m.seed);
  std::normal_distribution<float> normal(0.0f, 0.02f);
  auto randoms = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (auto& x : v) x = normal(rng);
    return v;
  };
  auto f32 = [&](const std::string& name, int64_t rows, const std::vector<float>& v) {
    std::vector<uint8_t> bytes(v.size() * 4);
    std::memcpy(bytes.data(), v.data(), bytes.size());
    const uint64_t cols = uint64_t(v.size()) / uint64_t(rows);
    w.add_tensor(name, rows == 1 ? std::vector<uint64_t>{cols} : std::vector<uint64_t>{cols, uint64_t(rows)}, uint32_t(GgmlType::F32),
                 std::move(bytes));
  };
  const Extents extents{m.dim, m.ffn, m.vocab, m.context + (bart ? 2 : 0), kv_width, head_dim / 2, q_width, head_dim, m.heads, 32, m.dim};
  auto write = [&](const TensorSpec& t, const std::string& name) {
    if (tied && name == "output.weight") return;
    if (t5 && m.t5_v1_0 && name.ends_with(".ffn_gate.weight")) return;  // relu(up)
    const int64_t rows = extents.of(t.rows), cols = extents.of(t.cols);
    switch (t.role) {
      case TensorRole::Matrix: {
        const GgmlType type = matrix_type(m.type, name, m.layers, cols, tied);
        w.add_tensor(name, {uint64_t(cols), uint64_t(rows)}, uint32_t(type), encode(type, randoms(rows * cols)));
        break;
      }
      case TensorRole::Norm: f32(name, rows, std::vector<float>(size_t(rows * cols), 1.0f)); break;
      case TensorRole::NormBias: f32(name, rows, std::vector<float>(size_t(rows * cols), 0.0f)); break;
      case TensorRole::Bias:
      case TensorRole::Table: f32(name, rows, randoms(rows * cols)); break;
      case TensorRole::RopeFactors:  // as given (loaders check the count)
        if (!m.rope_freq_factors.empty()) f32(name, 1, m.rope_freq_factors);
        break;
    }
  };
  const bool has_factors = std::any_of(arch.tensors.begin(), arch.tensors.end(), [](const TensorSpec& t) { return t.role == TensorRole::RopeFactors; });
  if (!m.rope_freq_factors.empty() && !has_factors) throw Error("make-model: RoPE frequency factors are for llama and qwen2");
  auto per_layer = [](const TensorSpec& t) { return t.name.find("{l}") != std::string::npos; };
  const auto first_layer = std::find_if(arch.tensors.begin(), arch.tensors.end(), per_layer);
  for (auto t = arch.tensors.begin(); t != first_layer; ++t) write(*t, t->name);
  for (int l = 0; l < m.layers; ++l)
    for (const TensorSpec& t : arch.tensors)
      if (per_layer(t)) write(t, layer_name(t.name, l));
  for (auto t = first_layer; t != arch.tensors.end(); ++t)
    if (!per_layer(*t)) write(*t, t->name);
  w.write(path);
}

}  // namespace vkllm
