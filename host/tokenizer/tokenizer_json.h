#pragma once
// The tokenizer of a Hugging Face model directory: tokenizer.json (a BPE model with its
// normalizer, pre-tokenizer, added tokens and post-processor), with BOS/EOS settings from
// tokenizer_config.json and end-of-generation ids from generation_config.json where present.
#include <string>

#include "host/vocab.h"

namespace vkllm {

// Error naming the file and the exact field for a tokenizer this runtime cannot reproduce
// (another model type, a normalizer or pre-tokenizer it does not implement, BPE dropout).
Vocab vocab_from_tokenizer_json(const std::string& dir);

}  // namespace vkllm
