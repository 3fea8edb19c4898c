#pragma once
// A tokenizer's vocabulary as model files describe it, independent of where it came from
// (GGUF metadata or a Hugging Face tokenizer.json).
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace vkllm {

// SentencePiece-style BPE over "▁"-escaped text with byte fallback (GGUF "llama"), or byte-level
// BPE over a pre-tokenized, byte-to-unicode mapped text (GGUF "gpt2").
enum class TokenizerKind { Spm, BytePairs };

// GGUF token types (values fixed by the format).
enum class TokenType : uint8_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct Vocab {
  TokenizerKind kind = TokenizerKind::Spm;
  std::vector<std::string> tokens;
  std::vector<TokenType> types;  // one per token
  // Merge priority: SentencePiece vocabularies rank a merge by the merged piece's score (higher
  // first); byte-pair vocabularies by the merge list's order (earlier first). A SentencePiece
  // vocabulary given as a merge list (tokenizer.json) uses the list.
  std::vector<float> scores;
  std::vector<std::pair<std::string, std::string>> merges;
  std::string pre = "default";         // pre-tokenizer name, as GGUF's tokenizer.ggml.pre
  std::vector<std::string> pre_patterns;  // or its regular expressions (tokenizer.json); these win
  int32_t bos = -1, eos = -1, unk = -1;
  std::vector<int32_t> end_of_generation;  // ids that end generation besides eos (e.g. <|eot_id|>)
  bool add_bos = true, add_eos = false;
  bool add_space_prefix = true;  // SentencePiece: a "▁" before the text
  bool ignore_merges = false;     // byte pairs: a whole pre-token found in the vocabulary is one token

  int32_t size() const { return int32_t(tokens.size()); }
  // Errors (naming `source`) for inconsistent sizes and special ids outside the vocabulary.
  void validate(const std::string& source) const;
};

}  // namespace vkllm
