#pragma once
// Reference logits from ../shared/data/reference/*-logits.jsonl (+ .npy) and the checks the
// model tests share.
#include <string>
#include <vector>

#include "host/npy.h"
#include "models/gguf.h"
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
// round_output_input: round the final hidden state to f16 before the (f16) output matrix, as
// llama.cpp's CPU backend does for F16 weights.
std::vector<float> host_llama_logits(const GgufFile& file, const LlamaConfig& config, const std::vector<int32_t>& tokens,
                                     bool round_output_input = false);

}  // namespace vkllm::test
