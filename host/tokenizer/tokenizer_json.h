#pragma once
// The tokenizer of a Hugging Face model directory: tokenizer.json (a BPE model, byte-level or
// SentencePiece-style with byte fallback), with BOS/EOS settings from tokenizer_config.json and
// end-of-generation ids from generation_config.json where present.
#include <string>

#include "host/vocab.h"

namespace vkllm {

// Error naming the file and field for a tokenizer this runtime cannot reproduce exactly
// (another model type, an unknown normalizer or pre-tokenizer).
Vocab vocab_from_tokenizer_json(const std::string& dir);

}  // namespace vkllm
