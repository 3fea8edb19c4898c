#pragma once
// Reference logits from ../shared/data/reference/*-logits.jsonl (+ .npy) and the checks the
// model tests share.
#include <functional>
#include <string>
#include <vector>

#include "host/npy.h"
#include "models/bart.h"
#include "models/gguf.h"
#include "models/gpt2.h"
#include "models/llama.h"
#include "models/t5.h"
#include "models/t5gemma.h"

namespace vkllm::test {

struct ReferenceSequence {
  std::string name;
  std::vector<int32_t> tokens;  // the decoder's, for encoder-decoder models
  NpyArray logits;  // [tokens, vocab]
  std::vector<int32_t> encoder_tokens;  // encoder-decoder models: what the encoder reads
};

// Empty (after saying why) when the reference data is absent.
std::vector<ReferenceSequence> reference_sequences(const std::string& jsonl, int64_t vocab);

std::vector<int32_t> iota_positions(size_t n);

// Max abs difference of the model's logits against the reference, feeding the sequence one
// token at a time through a fresh cache (decode) or all at once (prefill), after encoding the
// encoder tokens where there are any.
float max_error_decode(Model& model, const ReferenceSequence& s);
float max_error_prefill(Model& model, const ReferenceSequence& s);

// The Llama-family forward pass on the host with the op references (double accumulation),
// straight from a GGUF file with F32/F16 tensors: an independent check of the graph builder.
std::vector<float> host_llama_logits(const GgufFile& file, const LlamaConfig& config, const std::vector<int32_t>& tokens);

// T5 likewise: the encoder over encoder_tokens, then the decoder's logits for every token.
std::vector<float> host_t5_logits(const GgufFile& file, const T5Config& config, const std::vector<int32_t>& encoder_tokens,
                                  const std::vector<int32_t>& tokens);

// BART likewise (post-norm blocks, learned positions from row 2, final_logits_bias).
std::vector<float> host_bart_logits(const GgufFile& file, const BartConfig& config, const std::vector<int32_t>& encoder_tokens,
                                    const std::vector<int32_t>& tokens);

// T5Gemma likewise (two Gemma 2 stacks; the encoder's windows both ways, cross-attention
// normed before and after).
std::vector<float> host_t5gemma_logits(const GgufFile& file, const GemmaConfig& encoder, const GemmaConfig& decoder,
                                       const std::vector<int32_t>& encoder_tokens, const std::vector<int32_t>& tokens);

// T5Gemma 2 likewise (two Gemma 3 stacks; the encoder's windows split before and after the
// query; one softmax over the decoder's own keys and the encoder's, which its k/v make).
std::vector<float> host_t5gemma2_logits(const GgufFile& file, const GemmaConfig& encoder, const GemmaConfig& decoder,
                                        const std::vector<int32_t>& encoder_tokens, const std::vector<int32_t>& tokens);

// GPT-2 likewise (fused q/k/v, LayerNorm with bias, GELU tanh, learned positions).
std::vector<float> host_gpt2_logits(const GgufFile& file, const Gpt2Config& config, const std::vector<int32_t>& tokens);

// llama.cpp's reference logits are plain f32 arithmetic (F32 weights, f32 KV cache, exact
// GELU), so the model agrees with them within 1e-4 in one prefill and decoding one token at a
// time, decodes as it prefills (1e-5), and the host reference `host(tokens)` agrees too: when
// only the model misses, the graph builder is wrong, not the data.
void check_against_llama_cpp(Model& model, const std::vector<ReferenceSequence>& sequences,
                             const std::function<std::vector<float>(const std::vector<int32_t>&)>& host);

// Encoder-decoder models: the cross-attention K/V are projected once per input and read like a
// cache, so 20 sampled steps give bit for bit what re-encoding before every step gives, and
// the tokens (and, within 1e-5, the logits) of recomputing everything every step (no cache).
void check_generation_with_cross_cache(Model& model, const std::vector<int32_t>& encoder_input);

}  // namespace vkllm::test
