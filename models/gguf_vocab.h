#pragma once
// The tokenizer a GGUF file carries (tokenizer.ggml.*), as llama.cpp writes it.
#include <optional>

#include "host/vocab.h"
#include "models/gguf.h"

namespace vkllm {

// nullopt when the file has no vocabulary; an Error naming the key for one this runtime
// cannot use (an unknown tokenizer model, arrays of the wrong size or type).
std::optional<Vocab> vocab_from_gguf(const GgufFile& file);

}  // namespace vkllm
