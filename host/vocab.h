#pragma once
// A tokenizer's vocabulary and pipeline as model files describe it, independent of where it came
// from (GGUF metadata or a Hugging Face tokenizer.json): tokens written in the text are found
// first, the text between them is normalized and pre-tokenized, and each piece is encoded by BPE
// or Unigram.
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "host/tokenizer/normalizer.h"
#include "host/tokenizer/pretokenize.h"

namespace vkllm {

// How token texts decode: SentencePiece-style ("▁" for a space, <0xXX> byte tokens; GGUF
// "llama") or byte-level (characters of GPT-2's byte alphabet; GGUF "gpt2").
enum class TokenizerKind { Spm, BytePairs };

// How a piece becomes tokens: BPE merges (by merge rank or score), or Unigram's best-scoring
// segmentation (T5's SentencePiece vocabularies).
enum class TokenizerModel { Bpe, Unigram };

// GGUF token types (values fixed by the format). Control, unknown and user-defined tokens are
// matched where they are written in the text (control and unknown only when asked to).
enum class TokenType : uint8_t { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

// How a token written in the text is matched (tokenizer.json added_tokens). `normalized`: it is
// looked for in the normalized text, in normalized form, instead of in the raw text.
struct TextTokenOptions {
  bool lstrip = false, rstrip = false, single_word = false, normalized = false;
};

struct Vocab {
  TokenizerKind kind = TokenizerKind::Spm;
  TokenizerModel model = TokenizerModel::Bpe;
  std::vector<std::string> tokens;
  std::vector<TokenType> types;  // one per token
  // BPE's merge priority: by the merge list's order (earlier first) where there is one, else by
  // the merged piece's score (higher first; GGUF SentencePiece vocabularies). Unigram: each
  // token's log probability.
  std::vector<float> scores;
  std::vector<std::pair<std::string, std::string>> merges;
  std::vector<NormalizerStep> normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  std::map<int32_t, TextTokenOptions> text_token_options;  // tokens not listed match plainly
  bool byte_fallback = false;  // a character without a token becomes its bytes' <0xXX> tokens
  bool fuse_unk = false;       // consecutive characters without a token become one unknown token
  bool ignore_merges = false;  // a whole piece found in the vocabulary is one token
  int32_t bos = -1, eos = -1, unk = -1;
  std::vector<int32_t> end_of_generation;  // ids that end generation besides eos (e.g. <|eot_id|>)
  bool add_bos = true, add_eos = false;
  // The model's chat template (Jinja; GGUF tokenizer.chat_template, tokenizer_config.json's
  // chat_template or chat_template.jinja); empty where the files give none.
  std::string chat_template;

  int32_t size() const { return int32_t(tokens.size()); }
  // Errors (naming `source`) for inconsistent sizes and special ids outside the vocabulary.
  void validate(const std::string& source) const;
};

// GGUF "llama" vocabularies: spaces are "▁", and with `space_prefix` one "▁" goes in front of
// the text after each special token (as SentencePiece's add_dummy_prefix).
std::vector<NormalizerStep> sentencepiece_normalizer(bool space_prefix);

}  // namespace vkllm
