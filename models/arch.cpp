#include "models/arch.h"

#include <algorithm>

#include "models/chatglm.h"
#include "models/gemma.h"
#include "models/gpt2.h"
#include "models/llama.h"
#include "models/bart.h"
#include "models/t5.h"
#include "models/t5gemma.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

using E = Extent;
using R = TensorRole;

// What every Llama-style decoder (Llama, Qwen2, Gemma) has: hyperparameters, the embedding,
// pre-attention norm, q/k/v/o (q `q_rows` wide), gated feed-forward, final norm and output
// (absent: tied). The caller adds its own norms and extras.
ArchDescription llama_style(const std::string& name, ArchLoader load, std::vector<std::string> hf_classes, RopePairing pairing,
                            Extent q_rows) {
  ArchDescription d{name, load, std::move(hf_classes), pairing, {}, "", {}, {}};
  d.hparams = {
      {"embedding_length", "hidden_size"},
      {"feed_forward_length", "intermediate_size"},
      {"block_count", "num_hidden_layers"},
      {"attention.head_count", "num_attention_heads"},
      {"attention.head_count_kv", "num_key_value_heads"},
      {"attention.key_length", "head_dim"},
      {"context_length", "max_position_embeddings"},
      {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
      {"attention.sliding_window", "sliding_window"},
      {"rope.freq_base", "rope_theta"},
      {"vocab_size", "vocab_size"},
  };
  const std::string b = "model.layers.{l}.";
  d.tensors = {
      {"token_embd.weight", "model.embed_tokens.weight", E::Vocab, E::Dim, R::Matrix},
      {"blk.{l}.attn_norm.weight", b + "input_layernorm.weight", E::One, E::Dim, R::Norm},
      {"blk.{l}.attn_q.weight", b + "self_attn.q_proj.weight", q_rows, E::Dim, R::Matrix},
      {"blk.{l}.attn_k.weight", b + "self_attn.k_proj.weight", E::KvWidth, E::Dim, R::Matrix},
      {"blk.{l}.attn_v.weight", b + "self_attn.v_proj.weight", E::KvWidth, E::Dim, R::Matrix},
      {"blk.{l}.attn_output.weight", b + "self_attn.o_proj.weight", E::Dim, q_rows, R::Matrix},
      {"blk.{l}.ffn_gate.weight", b + "mlp.gate_proj.weight", E::Ffn, E::Dim, R::Matrix},
      {"blk.{l}.ffn_up.weight", b + "mlp.up_proj.weight", E::Ffn, E::Dim, R::Matrix},
      {"blk.{l}.ffn_down.weight", b + "mlp.down_proj.weight", E::Dim, E::Ffn, R::Matrix},
      {"output_norm.weight", "model.norm.weight", E::One, E::Dim, R::Norm},
      {"output.weight", "lm_head.weight", E::Vocab, E::Dim, R::Matrix, true},
  };
  return d;
}

// The Llama family: pre-norm attention with RoPE, SwiGLU feed-forward. Qwen2 adds q/k/v biases.
ArchDescription llama_family(const std::string& name, std::vector<std::string> hf_classes, RopePairing pairing, bool qkv_bias) {
  ArchDescription d = llama_style(name, load_llama, std::move(hf_classes), pairing, E::Dim);
  d.hparams.insert(d.hparams.end(), {
                                        {"rope.dimension_count", ""},
                                        {"rope.scaling.type", "rope_scaling.rope_type|rope_scaling.type"},
                                        {"rope.scaling.factor", "rope_scaling.factor"},
                                        {"rope.scaling.original_context_length", "rope_scaling.original_max_position_embeddings"},
                                        {"rope.scaling.low_freq_factor", "rope_scaling.low_freq_factor"},
                                        {"rope.scaling.high_freq_factor", "rope_scaling.high_freq_factor"},
                                    });
  const std::string b = "model.layers.{l}.";
  d.tensors.push_back({"blk.{l}.ffn_norm.weight", b + "post_attention_layernorm.weight", E::One, E::Dim, R::Norm});
  if (qkv_bias) {
    d.tensors.push_back({"blk.{l}.attn_q.bias", b + "self_attn.q_proj.bias", E::One, E::Dim, R::Bias});
    d.tensors.push_back({"blk.{l}.attn_k.bias", b + "self_attn.k_proj.bias", E::One, E::KvWidth, R::Bias});
    d.tensors.push_back({"blk.{l}.attn_v.bias", b + "self_attn.v_proj.bias", E::One, E::KvWidth, R::Bias});
  }
  // GGUF's Llama 3.1 scaling: per-frequency divisors, written only when given.
  d.tensors.push_back({"rope_freqs.weight", "", E::One, E::RopePairs, R::RopeFactors, true});
  return d;
}

// GPT-2's block: LayerNorm with bias, fused q/k/v, GELU feed-forward, biases throughout.
// ChatGLM-6B shares the GGUF layout (see load_chatglm6b) with its own Hugging Face names.
struct BlockNames {
  std::string attn_norm, qkv, attn_output, ffn_norm, ffn_up, ffn_down;
};
void biased_blocks(ArchDescription& d, const BlockNames& hf, HfLayout matrices, HfLayout qkv) {
  auto add = [&](const std::string& gguf, const std::string& name, E rows, E cols, R role, HfLayout layout) {
    d.tensors.push_back({"blk.{l}." + gguf, name, rows, cols, role, false, layout});
  };
  add("attn_norm.weight", hf.attn_norm + ".weight", E::One, E::Dim, R::Norm, HfLayout::AsIs);
  add("attn_norm.bias", hf.attn_norm + ".bias", E::One, E::Dim, R::NormBias, HfLayout::AsIs);
  add("attn_qkv.weight", hf.qkv + ".weight", E::QkvWidth, E::Dim, R::Matrix, qkv == HfLayout::AsIs ? matrices : qkv);
  add("attn_qkv.bias", hf.qkv + ".bias", E::One, E::QkvWidth, R::Bias, qkv);
  add("attn_output.weight", hf.attn_output + ".weight", E::Dim, E::Dim, R::Matrix, matrices);
  add("attn_output.bias", hf.attn_output + ".bias", E::One, E::Dim, R::Bias, HfLayout::AsIs);
  add("ffn_norm.weight", hf.ffn_norm + ".weight", E::One, E::Dim, R::Norm, HfLayout::AsIs);
  add("ffn_norm.bias", hf.ffn_norm + ".bias", E::One, E::Dim, R::NormBias, HfLayout::AsIs);
  add("ffn_up.weight", hf.ffn_up + ".weight", E::Ffn, E::Dim, R::Matrix, matrices);
  add("ffn_up.bias", hf.ffn_up + ".bias", E::One, E::Ffn, R::Bias, HfLayout::AsIs);
  add("ffn_down.weight", hf.ffn_down + ".weight", E::Dim, E::Ffn, R::Matrix, matrices);
  add("ffn_down.bias", hf.ffn_down + ".bias", E::One, E::Dim, R::Bias, HfLayout::AsIs);
}

// The final LayerNorm (with bias) and the output matrix, absent where tied to the embedding.
void output_head(ArchDescription& d, const std::string& hf_norm, const std::string& hf_output) {
  d.tensors.push_back({"output_norm.weight", hf_norm + ".weight", E::One, E::Dim, R::Norm});
  d.tensors.push_back({"output_norm.bias", hf_norm + ".bias", E::One, E::Dim, R::NormBias});
  d.tensors.push_back({"output.weight", hf_output, E::Vocab, E::Dim, R::Matrix, true});
}

ArchDescription gpt2() {
  ArchDescription d{"gpt2", load_gpt2, {"GPT2LMHeadModel"}, RopePairing::Interleaved, {{"", "transformer."}}, "", {}, {}};
  d.hparams = {
      {"embedding_length", "n_embd"},    {"feed_forward_length", "n_inner"},
      {"block_count", "n_layer"},        {"attention.head_count", "n_head"},
      {"context_length", "n_positions"}, {"attention.layer_norm_epsilon", "layer_norm_epsilon"},
      {"vocab_size", "vocab_size"},      {"activation", "activation_function"},
  };
  d.tensors = {
      {"token_embd.weight", "wte.weight", E::Vocab, E::Dim, R::Matrix},
      {"position_embd.weight", "wpe.weight", E::Context, E::Dim, R::Table},
  };
  biased_blocks(d, {"h.{l}.ln_1", "h.{l}.attn.c_attn", "h.{l}.attn.c_proj", "h.{l}.ln_2", "h.{l}.mlp.c_fc", "h.{l}.mlp.c_proj"},
                HfLayout::Transposed, HfLayout::AsIs);
  output_head(d, "ln_f", "lm_head.weight");
  return d;
}

ArchDescription chatglm6b() {
  ArchDescription d{"chatglm6b", load_chatglm6b, {"ChatGLMModel"}, RopePairing::Glm2D, {}, "", {}, {}};
  d.hparams = {
      {"embedding_length", "hidden_size"},
      {"feed_forward_length", "inner_hidden_size"},
      {"block_count", "num_layers"},
      {"attention.head_count", "num_attention_heads"},
      {"context_length", "max_sequence_length"},
      {"attention.layer_norm_epsilon", "layernorm_epsilon"},
      {"residual_alpha", ""},
      {"gmask_token_id", "gmask_token_id"},
      {"tokenizer.ggml.bos_token_id", "bos_token_id"},
      {"vocab_size", "vocab_size"},
  };
  d.tensors = {{"token_embd.weight", "transformer.word_embeddings.weight", E::Vocab, E::Dim, R::Matrix}};
  const std::string b = "transformer.layers.{l}.";
  biased_blocks(d, {b + "input_layernorm", b + "attention.query_key_value", b + "attention.dense", b + "post_attention_layernorm",
                    b + "mlp.dense_h_to_4h", b + "mlp.dense_4h_to_h"},
                HfLayout::AsIs, HfLayout::PerHeadQkvRows);
  output_head(d, "transformer.final_layernorm", "lm_head.weight");
  return d;
}

// transformers' Gemma2Config
constexpr const char* kGemma2Defaults = R"({"vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216,
  "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
  "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "query_pre_attn_scalar": 256,
  "sliding_window": 4096, "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0, "bos_token_id": 2})";

// transformers' Gemma3TextConfig
constexpr const char* kGemma3Defaults = R"({"vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216,
  "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4, "head_dim": 256,
  "max_position_embeddings": 131072, "rms_norm_eps": 1e-6, "rope_theta": 1000000.0, "rope_local_base_freq": 10000.0,
  "query_pre_attn_scalar": 256, "sliding_window": 4096, "sliding_window_pattern": 6})";

// Gemma 2: norms before and after attention and the feed-forward, q wider than the model
// when head_dim x heads is, soft-caps. Hugging Face checkpoints store each norm's w where
// GGUF stores 1 + w.
ArchDescription gemma2() {
  ArchDescription d = llama_style("gemma2", load_gemma2, {"Gemma2ForCausalLM"}, RopePairing::HalfSplit, E::QWidth);
  d.hparams.insert(d.hparams.end(), {
                                        {"attention.value_length", "head_dim"},
                                        {"attn_logit_softcapping", "attn_logit_softcapping"},
                                        {"final_logit_softcapping", "final_logit_softcapping"},
                                        {"query_pre_attn_scalar", "query_pre_attn_scalar"},
                                    });
  d.hf_defaults = kGemma2Defaults;
  const std::string b = "model.layers.{l}.";
  d.tensors.push_back({"blk.{l}.post_attention_norm.weight", b + "post_attention_layernorm.weight", E::One, E::Dim, R::Norm});
  d.tensors.push_back({"blk.{l}.ffn_norm.weight", b + "pre_feedforward_layernorm.weight", E::One, E::Dim, R::Norm});
  d.tensors.push_back({"blk.{l}.post_ffw_norm.weight", b + "post_feedforward_layernorm.weight", E::One, E::Dim, R::Norm});
  for (TensorSpec& t : d.tensors)
    if (t.role == R::Norm) t.layout = HfLayout::NormMinusOne;
  return d;
}

// Gemma 3 (text): Gemma 2 without soft-caps, with q and k normalized per head and sliding
// layers rotated with their own base. Gemma3ForConditionalGeneration checkpoints hold the
// same text model under "language_model." (newer ones: "model.language_model.").
ArchDescription gemma3() {
  ArchDescription d = gemma2();
  d.name = "gemma3";
  d.load = load_gemma3;
  d.hf_classes = {"Gemma3ForCausalLM", "Gemma3ForConditionalGeneration"};
  d.hf_renames = {{"", "language_model."}, {"model.", "model.language_model."}};
  d.hparams.insert(d.hparams.end(), {
                                        {"attention.sliding_window_pattern", "sliding_window_pattern"},
                                        {"rope.freq_base_swa", "rope_local_base_freq"},
                                        {"rope.scaling.type", "rope_scaling.rope_type|rope_scaling.type"},
                                        {"rope.scaling.factor", "rope_scaling.factor"},
                                    });
  d.hf_defaults = kGemma3Defaults;
  const std::string b = "model.layers.{l}.";
  d.tensors.push_back({"blk.{l}.attn_q_norm.weight", b + "self_attn.q_norm.weight", E::One, E::HeadDim, R::Norm, false, HfLayout::NormMinusOne});
  d.tensors.push_back({"blk.{l}.attn_k_norm.weight", b + "self_attn.k_norm.weight", E::One, E::HeadDim, R::Norm, false, HfLayout::NormMinusOne});
  return d;
}

// T5 v1.0/v1.1 and Flan-T5: an encoder and a decoder stack (llama.cpp's "enc."/"dec." names),
// each with its relative position table in its first layer; the decoder adds cross-attention.
// The gate is absent in v1.0 (ReLU feed-forward), the output matrix where tied (v1.0): GGUF
// says so by leaving it out, config.json by tie_word_embeddings (whatever the checkpoint holds).
ArchDescription t5() {
  ArchDescription d{"t5", load_t5, {"T5ForConditionalGeneration"}, RopePairing::Interleaved, {}, "", {}, {}};
  d.hparams = {
      {"embedding_length", "d_model"},
      {"feed_forward_length", "d_ff"},
      {"block_count", "num_layers"},
      {"decoder_block_count", "num_decoder_layers"},
      {"attention.head_count", "num_heads"},
      {"attention.key_length", "d_kv"},
      {"attention.layer_norm_rms_epsilon", "layer_norm_epsilon"},
      {"attention.relative_buckets_count", "relative_attention_num_buckets"},
      {"attention.relative_max_distance", "relative_attention_max_distance"},
      {"decoder_start_token_id", "decoder_start_token_id"},
      {"context_length", "n_positions"},
      {"vocab_size", "vocab_size"},
      {"tie_word_embeddings", "tie_word_embeddings"},
  };
  d.hf_defaults = R"({"tie_word_embeddings": true})";  // transformers' T5Config: v1.1 and Flan-T5 set false
  d.tensors = {{"token_embd.weight", "shared.weight", E::Vocab, E::Dim, R::Matrix}};
  struct Stack {
    std::string gguf, hf;
  };
  for (const Stack& s : {Stack{"enc", "encoder"}, Stack{"dec", "decoder"}}) {
    const std::string g = s.gguf + ".blk.{l}.", h = s.hf + ".block.{l}.layer.";
    const bool dec = s.gguf == "dec";
    const std::string ffn = h + (dec ? "2" : "1") + ".";
    d.tensors.push_back({s.gguf + ".blk.0.attn_rel_b.weight", s.hf + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                         E::Buckets, E::Heads, R::Table});
    d.tensors.push_back({g + "attn_norm.weight", h + "0.layer_norm.weight", E::One, E::Dim, R::Norm});
    for (const char* p : {"q", "k", "v"})
      d.tensors.push_back({g + "attn_" + p + ".weight", h + "0.SelfAttention." + p + ".weight", E::QWidth, E::Dim, R::Matrix});
    d.tensors.push_back({g + "attn_o.weight", h + "0.SelfAttention.o.weight", E::Dim, E::QWidth, R::Matrix});
    if (dec) {
      d.tensors.push_back({g + "cross_attn_norm.weight", h + "1.layer_norm.weight", E::One, E::Dim, R::Norm});
      for (const char* p : {"q", "k", "v"})
        d.tensors.push_back({g + "cross_attn_" + p + ".weight", h + "1.EncDecAttention." + p + ".weight", E::QWidth, E::Dim, R::Matrix});
      d.tensors.push_back({g + "cross_attn_o.weight", h + "1.EncDecAttention.o.weight", E::Dim, E::QWidth, R::Matrix});
    }
    d.tensors.push_back({g + "ffn_norm.weight", ffn + "layer_norm.weight", E::One, E::Dim, R::Norm});
    d.tensors.push_back({g + "ffn_gate.weight", ffn + "DenseReluDense.wi_0.weight", E::Ffn, E::Dim, R::Matrix, true});
    d.tensors.push_back({g + "ffn_up.weight", ffn + "DenseReluDense.wi_1.weight|" + ffn + "DenseReluDense.wi.weight", E::Ffn, E::Dim, R::Matrix});
    d.tensors.push_back({g + "ffn_down.weight", ffn + "DenseReluDense.wo.weight", E::Dim, E::Ffn, R::Matrix});
    d.tensors.push_back({s.gguf + ".output_norm.weight", s.hf + ".final_layer_norm.weight", E::One, E::Dim, R::Norm});
  }
  d.tensors.push_back({"output.weight", "lm_head.weight", E::Vocab, E::Dim, R::Matrix, true});
  return d;
}

// BART: learned positions per stack (2 rows more than positions, fairseq's offset), a
// LayerNorm of the embeddings, post-norm blocks with biases throughout (the norm after each
// sublayer keeps the sublayer's name), final_logits_bias. GGUF has no BART layout; this is
// vkllm's, in the names llama.cpp gives T5's parts.
ArchDescription bart() {
  ArchDescription d{"bart", load_bart, {"BartForConditionalGeneration"}, RopePairing::Interleaved, {}, "", {}, {}};
  d.hparams = {
      {"embedding_length", "d_model"},
      {"feed_forward_length", "encoder_ffn_dim"},
      {"decoder_feed_forward_length", "decoder_ffn_dim"},
      {"block_count", "encoder_layers"},
      {"decoder_block_count", "decoder_layers"},
      {"attention.head_count", "encoder_attention_heads"},
      {"decoder_attention.head_count", "decoder_attention_heads"},
      {"attention.layer_norm_epsilon", ""},
      {"context_length", "max_position_embeddings"},
      {"decoder_start_token_id", "decoder_start_token_id"},
      {"forced_bos_token_id", "forced_bos_token_id"},
      {"scale_embedding", "scale_embedding"},
      {"activation", "activation_function"},
      {"vocab_size", "vocab_size"},
  };
  // transformers' BartConfig
  d.hf_defaults = R"({"vocab_size": 50265, "max_position_embeddings": 1024, "encoder_layers": 12, "encoder_ffn_dim": 4096,
    "encoder_attention_heads": 16, "decoder_layers": 12, "decoder_ffn_dim": 4096, "decoder_attention_heads": 16,
    "activation_function": "gelu", "d_model": 1024, "scale_embedding": false, "decoder_start_token_id": 2})";
  d.tensors = {{"token_embd.weight", "model.shared.weight|model.encoder.embed_tokens.weight", E::Vocab, E::Dim, R::Matrix}};
  auto add = [&](const std::string& gguf, const std::string& hf, E rows, E cols, R role) {
    d.tensors.push_back({gguf, hf, rows, cols, role});
  };
  auto linear = [&](const std::string& gguf, const std::string& hf) {
    add(gguf + ".weight", hf + ".weight", E::Dim, E::Dim, R::Matrix);
    add(gguf + ".bias", hf + ".bias", E::One, E::Dim, R::Bias);
  };
  auto norm = [&](const std::string& gguf, const std::string& hf) {
    add(gguf + ".weight", hf + ".weight", E::One, E::Dim, R::Norm);
    add(gguf + ".bias", hf + ".bias", E::One, E::Dim, R::NormBias);
  };
  for (const std::string stack : {"enc", "dec"}) {
    const std::string hf = stack == "enc" ? "model.encoder." : "model.decoder.";
    add(stack + ".position_embd.weight", hf + "embed_positions.weight", E::Context, E::Dim, R::Table);
    norm(stack + ".embd_norm", hf + "layernorm_embedding");
    const std::string g = stack + ".blk.{l}.", h = hf + "layers.{l}.";
    for (const char* p : {"q", "k", "v"}) linear(g + "attn_" + p, h + "self_attn." + p + "_proj");
    linear(g + "attn_o", h + "self_attn.out_proj");
    norm(g + "attn_norm", h + "self_attn_layer_norm");
    if (stack == "dec") {
      for (const char* p : {"q", "k", "v"}) linear(g + "cross_attn_" + p, h + "encoder_attn." + p + "_proj");
      linear(g + "cross_attn_o", h + "encoder_attn.out_proj");
      norm(g + "cross_attn_norm", h + "encoder_attn_layer_norm");
    }
    add(g + "ffn_up.weight", h + "fc1.weight", E::Ffn, E::Dim, R::Matrix);
    add(g + "ffn_up.bias", h + "fc1.bias", E::One, E::Ffn, R::Bias);
    add(g + "ffn_down.weight", h + "fc2.weight", E::Dim, E::Ffn, R::Matrix);
    add(g + "ffn_down.bias", h + "fc2.bias", E::One, E::Dim, R::Bias);
    norm(g + "ffn_norm", h + "final_layer_norm");
  }
  d.tensors.push_back({"output.weight", "lm_head.weight", E::Vocab, E::Dim, R::Matrix, true});
  d.tensors.push_back({"output.bias", "final_logits_bias", E::One, E::Vocab, R::Bias, true});
  return d;
}

// What config.json calls each of a T5Gemma stack's keys, as its text config spells them.
std::vector<HparamSpec> gemma_stack_keys() {
  return {
      {"embedding_length", "hidden_size"},
      {"feed_forward_length", "intermediate_size"},
      {"block_count", "num_hidden_layers"},
      {"attention.head_count", "num_attention_heads"},
      {"attention.head_count_kv", "num_key_value_heads"},
      {"attention.key_length", "head_dim"},
      {"attention.value_length", "head_dim"},
      {"context_length", "max_position_embeddings"},
      {"attention.layer_norm_rms_epsilon", "rms_norm_eps"},
      {"attention.sliding_window", "sliding_window"},
      {"layer_types", "layer_types"},
      {"final_logit_softcapping", "final_logit_softcapping"},
      {"query_pre_attn_scalar", "query_pre_attn_scalar"},
  };
}

// A T5Gemma stack's tensors ("enc" or "dec"): Gemma's blocks in vkllm's GGUF names and
// transformers' T5Gemma ones. T5Gemma 2's (`two`) add QK-norm, and its decoder has neither an
// embedding (the encoder's serves) nor cross-attention weights; T5Gemma's decoder blocks add
// cross-attention, normed before and after.
void t5gemma_stack(ArchDescription& d, const std::string& stack, bool two) {
  const bool dec = stack == "dec";
  const std::string g = stack + ".", h = dec ? "model.decoder." : "model.encoder.";
  const std::string gb = g + "blk.{l}.", hb = h + "layers.{l}.";
  auto add = [&](const std::string& gguf, const std::string& hf, E rows, E cols, R role) {
    d.tensors.push_back({gguf, hf, rows, cols, role, false, role == R::Norm ? HfLayout::NormMinusOne : HfLayout::AsIs});
  };
  if (!(two && dec)) add(g + "token_embd.weight", h + "embed_tokens.weight", E::Vocab, E::Dim, R::Matrix);
  add(gb + "attn_norm.weight", hb + "pre_self_attn_layernorm.weight", E::One, E::Dim, R::Norm);
  add(gb + "attn_q.weight", hb + "self_attn.q_proj.weight", E::QWidth, E::Dim, R::Matrix);
  add(gb + "attn_k.weight", hb + "self_attn.k_proj.weight", E::KvWidth, E::Dim, R::Matrix);
  add(gb + "attn_v.weight", hb + "self_attn.v_proj.weight", E::KvWidth, E::Dim, R::Matrix);
  if (two) {
    add(gb + "attn_q_norm.weight", hb + "self_attn.q_norm.weight", E::One, E::HeadDim, R::Norm);
    add(gb + "attn_k_norm.weight", hb + "self_attn.k_norm.weight", E::One, E::HeadDim, R::Norm);
  }
  add(gb + "attn_output.weight", hb + "self_attn.o_proj.weight", E::Dim, E::QWidth, R::Matrix);
  add(gb + "post_attention_norm.weight", hb + "post_self_attn_layernorm.weight", E::One, E::Dim, R::Norm);
  if (dec && !two) {
    add(gb + "cross_attn_norm.weight", hb + "pre_cross_attn_layernorm.weight", E::One, E::Dim, R::Norm);
    add(gb + "cross_attn_q.weight", hb + "cross_attn.q_proj.weight", E::QWidth, E::Dim, R::Matrix);
    add(gb + "cross_attn_k.weight", hb + "cross_attn.k_proj.weight", E::KvWidth, E::EncoderDim, R::Matrix);
    add(gb + "cross_attn_v.weight", hb + "cross_attn.v_proj.weight", E::KvWidth, E::EncoderDim, R::Matrix);
    add(gb + "cross_attn_output.weight", hb + "cross_attn.o_proj.weight", E::Dim, E::QWidth, R::Matrix);
    add(gb + "cross_attn_post_norm.weight", hb + "post_cross_attn_layernorm.weight", E::One, E::Dim, R::Norm);
  }
  add(gb + "ffn_norm.weight", hb + "pre_feedforward_layernorm.weight", E::One, E::Dim, R::Norm);
  add(gb + "ffn_gate.weight", hb + "mlp.gate_proj.weight", E::Ffn, E::Dim, R::Matrix);
  add(gb + "ffn_up.weight", hb + "mlp.up_proj.weight", E::Ffn, E::Dim, R::Matrix);
  add(gb + "ffn_down.weight", hb + "mlp.down_proj.weight", E::Dim, E::Ffn, R::Matrix);
  add(gb + "post_ffw_norm.weight", hb + "post_feedforward_layernorm.weight", E::One, E::Dim, R::Norm);
  add(g + "output_norm.weight", h + "norm.weight", E::One, E::Dim, R::Norm);
}

// T5Gemma: two Gemma 2 stacks (vkllm's GGUF names: Gemma's under "enc." and "dec."), each
// configured like a Gemma 2 model of its own (config.json's "encoder" and "decoder"; GGUF's
// decoder keys under "decoder."); decoder blocks add a cross-attention sublayer, normed
// before and after like the others. The head is the decoder's embedding unless given.
ArchDescription t5gemma() {
  ArchDescription d{"t5gemma", load_t5gemma, {"T5GemmaForConditionalGeneration"}, RopePairing::HalfSplit, {}, "", {}, {}};
  std::vector<HparamSpec> stack_keys = gemma_stack_keys();
  stack_keys.insert(stack_keys.end(), {{"rope.freq_base", "rope_theta"}, {"attn_logit_softcapping", "attn_logit_softcapping"}});
  for (const HparamSpec& k : stack_keys) {
    d.hparams.push_back({k.gguf, "encoder." + k.hf});
    d.hparams.push_back({"decoder." + k.gguf, "decoder." + k.hf});
  }
  d.hparams.push_back({"vocab_size", "vocab_size|encoder.vocab_size"});
  d.hparams.push_back({"decoder.vocab_size", "vocab_size|decoder.vocab_size"});
  d.hparams.push_back({"decoder_start_token_id", "decoder.bos_token_id|bos_token_id"});
  // Each stack is configured as a Gemma 2 model (T5GemmaModuleConfig).
  d.hf_defaults = std::string(R"({"vocab_size": 256000, "encoder": )") + kGemma2Defaults + R"(, "decoder": )" + kGemma2Defaults + "}";
  for (const char* stack : {"enc", "dec"}) t5gemma_stack(d, stack, false);
  d.tensors.push_back({"output.weight", "lm_head.out_proj.weight", E::Vocab, E::Dim, R::Matrix, true});
  return d;
}

// T5Gemma 2: two Gemma 3 stacks (vkllm's GGUF names under "enc." and "dec."; the decoder's
// keys under "decoder."), one embedding (the encoder's) for both and the head; decoder blocks
// are Gemma 3's, their one attention also reading the encoder's outputs. config.json holds the
// encoder as a multimodal config ("encoder.text_config"; earlier ones "encoder" itself) and its
// text model under "model.encoder.text_model." (later ones "model.encoder."); the vision tower
// is not read. RoPE comes from "rope_parameters" or, in older configs, rope_theta and
// rope_local_base_freq.
ArchDescription t5gemma2() {
  ArchDescription d{"t5gemma2", load_t5gemma2, {"T5Gemma2ForConditionalGeneration"}, RopePairing::HalfSplit,
                    {{"model.encoder.", "model.encoder.text_model."}}, "", {}, {}};
  std::vector<HparamSpec> stack_keys = gemma_stack_keys();
  stack_keys.insert(stack_keys.end(), {
      {"attention.sliding_window_pattern", "sliding_window_pattern"},
      {"rope.freq_base", "rope_parameters.full_attention.rope_theta|rope_theta"},
      {"rope.freq_base_swa", "rope_parameters.sliding_attention.rope_theta|rope_local_base_freq"},
      {"rope.scaling.type", "rope_parameters.full_attention.rope_type|rope_scaling.rope_type|rope_scaling.type"},
      {"rope.scaling.factor", "rope_parameters.full_attention.factor|rope_scaling.factor"},
      {"vocab_size", "vocab_size"},
  });
  for (const HparamSpec& k : stack_keys) {
    // Each spelling as a flat encoder config has it, then inside text_config (where the
    // defaults are, so that they come last).
    std::string encoder, decoder;
    for (const std::string& n : alternatives(k.hf)) {
      for (const char* stack : {"|encoder.", "|encoder.text_config."}) encoder.append(stack).append(n);
      decoder.append("|decoder.").append(n);
    }
    d.hparams.push_back({k.gguf, encoder.substr(1)});
    d.hparams.push_back({"decoder." + k.gguf, decoder.substr(1)});
  }
  d.hparams.push_back({"decoder_start_token_id", "decoder_start_token_id|decoder.bos_token_id|bos_token_id"});
  d.hparams.push_back({"eoi_token_index", "eoi_token_index|encoder.eoi_token_index"});
  // transformers' T5Gemma2TextConfig for each stack: Gemma 3's. No defaults for the start and
  // end-of-image tokens, which would hide the other spellings; the loader's are transformers'.
  d.hf_defaults = std::string(R"({"encoder": {"text_config": )") + kGemma3Defaults + R"(}, "decoder": )" + kGemma3Defaults + "}";
  for (const char* stack : {"enc", "dec"}) t5gemma_stack(d, stack, true);
  return d;
}

const std::vector<ArchDescription>& all() {
  static const std::vector<ArchDescription> d{
      llama_family("llama", {"LlamaForCausalLM", "MistralForCausalLM"}, RopePairing::Interleaved, false),
      llama_family("qwen2", {"Qwen2ForCausalLM"}, RopePairing::HalfSplit, true),
      gpt2(),
      chatglm6b(),
      gemma2(),
      gemma3(),
      t5(),
      bart(),
      t5gemma(),
      t5gemma2(),
  };
  return d;
}

}  // namespace

int64_t Extents::of(Extent e) const {
  switch (e) {
    case Extent::One: return 1;
    case Extent::Dim: return dim;
    case Extent::Ffn: return ffn;
    case Extent::Vocab: return vocab;
    case Extent::Context: return context;
    case Extent::KvWidth: return kv_width;
    case Extent::QkvWidth: return 3 * dim;
    case Extent::RopePairs: return rope_pairs;
    case Extent::QWidth: return q_width;
    case Extent::HeadDim: return head_dim;
    case Extent::Heads: return heads;
    case Extent::Buckets: return buckets;
    case Extent::EncoderDim: return encoder_dim;
  }
  return 0;
}

const TensorSpec* ArchDescription::find(const std::string& n) const {
  for (const TensorSpec& t : tensors)
    if (t.name == n) return &t;
  return nullptr;
}

const TensorSpec& ArchDescription::tensor(const std::string& n) const {
  if (const TensorSpec* t = find(n)) return *t;
  throw Error(name + ": no tensor '" + n + "' in the architecture's description");
}

const HparamSpec* ArchDescription::hparam(const std::string& key) const {
  for (const HparamSpec& h : hparams)
    if (h.gguf == key) return &h;
  return nullptr;
}

const ArchDescription& arch_description(const std::string& name) {
  std::string known;
  for (const ArchDescription& d : all()) {
    if (d.name == name) return d;
    known.append(known.empty() ? "" : ", ").append(d.name);
  }
  throw Error("architecture '" + name + "' is not supported (" + known + " are)");
}

const ArchDescription* arch_for_hf_class(const std::string& hf_class) {
  for (const ArchDescription& d : all())
    for (const std::string& c : d.hf_classes)
      if (c == hf_class) return &d;
  return nullptr;
}

std::string supported_hf_classes() {
  std::vector<std::string> classes;
  for (const ArchDescription& d : all()) classes.insert(classes.end(), d.hf_classes.begin(), d.hf_classes.end());
  std::string out;
  for (size_t i = 0; i < classes.size(); ++i) out += (i == 0 ? "" : i + 1 == classes.size() ? " and " : ", ") + classes[i];
  return out;
}

std::vector<std::string> alternatives(const std::string& names) {
  std::vector<std::string> out;
  for (size_t start = 0; start <= names.size();) {
    const size_t bar = std::min(names.find('|', start), names.size());
    out.push_back(names.substr(start, bar - start));
    start = bar + 1;
  }
  return out;
}

std::string layer_name(const std::string& pattern, int layer) {
  const size_t at = pattern.find("{l}");
  if (at == std::string::npos) return pattern;
  return pattern.substr(0, at) + std::to_string(layer) + pattern.substr(at + 3);
}

const TensorSpec* match_tensor(const ArchDescription& d, const std::string& name, int& layer) {
  for (const TensorSpec& t : d.tensors) {
    const size_t at = t.name.find("{l}");
    if (at == std::string::npos) {
      if (t.name == name) {
        layer = -1;
        return &t;
      }
      continue;
    }
    const std::string before = t.name.substr(0, at), after = t.name.substr(at + 3);
    if (name.size() <= before.size() + after.size() || !name.starts_with(before) || !name.ends_with(after)) continue;
    const std::string digits = name.substr(before.size(), name.size() - before.size() - after.size());
    if (digits.empty() || digits.size() > 6 || digits.find_first_not_of("0123456789") != std::string::npos) continue;
    layer = std::stoi(digits);
    return &t;
  }
  return nullptr;
}

}  // namespace vkllm
