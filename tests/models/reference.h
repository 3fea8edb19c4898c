#pragma once
// Reference logits from ../shared/data/reference/*-logits.jsonl (+ .npy) and the checks the
// model tests share.
#include <functional>
#include <string>
#include <vector>

#include "host/npy.h"
#include "models/gguf.h"
#include "models/gpt2.h"
#include "models/llama.h"

namespace vkllm::test {

struct ReferenceSequence {
  std::string name;
  std::vector<int32_t> tokens;
  NpyArray logits;  // [tokens, vocab]
};

// Empty (after saying why) when the reference data is absent.
std::vector<ReferenceSequence> reference_sequences(const std::string& jsonl, int64_t vocab);

std::vector<int32_t> iota_positions(size_t n);

// Max abs difference of the model's logits against the reference, feeding the sequence one
// token at a time through a fresh cache (decode) or all at once (prefill).
float max_error_decode(Model& model, const ReferenceSequence& s);
float max_error_prefill(Model& model, const ReferenceSequence& s);

// The Llama-family forward pass on the host with the op references (double accumulation),
// straight from a GGUF file with F32/F16 tensors: an independent check of the graph builder.
// llama_cpp_rounding: round where llama.cpp's CPU backend does: the input of an F16 weight
// matrix (here the final hidden state before the output matrix) and, for GELU, which it
// evaluates through an f16 table, its input and output.
std::vector<float> host_llama_logits(const GgufFile& file, const LlamaConfig& config, const std::vector<int32_t>& tokens,
                                     bool llama_cpp_rounding = false);

// GPT-2 likewise (fused q/k/v, LayerNorm with bias, GELU tanh, learned positions).
std::vector<float> host_gpt2_logits(const GgufFile& file, const Gpt2Config& config, const std::vector<int32_t>& tokens,
                                    bool llama_cpp_rounding = false);

// llama.cpp's reference logits carry its CPU backend's f16 arithmetic around the F16 output
// matrix: for the 7-token sequences it rounds the final hidden state to f16 (the host reference
// reproduces that to 1e-5, with GELU's f16 table for GPT-2); the 40-token sequences went through a path that computes in f16
// (every reference value is f16-exact: its low 13 mantissa bits are zero), good to about 8 f16
// ulps. So: the model decodes as it prefills (1e-5), equals the host reference (1e-4), and is
// within those roundings' size of llama.cpp. host(tokens, llama_cpp_rounding) -> logits.
void check_against_llama_cpp(Model& model, const std::vector<ReferenceSequence>& sequences,
                             const std::function<std::vector<float>(const std::vector<int32_t>&, bool)>& host);

}  // namespace vkllm::test
