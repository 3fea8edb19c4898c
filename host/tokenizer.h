#pragma once
// Text <-> token ids for SentencePiece-style and byte-level vocabularies: tokens written in the
// text, normalizers, pre-tokenizers and the BPE or Unigram model as the Vocab describes them, and a
// streaming decoder that never emits half a UTF-8 character.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "host/tokenizer/normalizer.h"
#include "host/tokenizer/pretokenize.h"
#include "host/tokenizer/text_tokens.h"
#include "host/tokenizer/token_index.h"
#include "host/tokenizer/unigram.h"
#include "host/vocab.h"

namespace vkllm {

class Tokenizer {
 public:
  explicit Tokenizer(Vocab vocab);  // validates the vocabulary

  // add_special: BOS/EOS as the vocabulary asks. parse_special: control tokens written in the
  // text (e.g. "<|im_start|>") become their ids; user-defined tokens always do.
  std::vector<int32_t> encode(std::string_view text, bool add_special = true, bool parse_special = false) const;

  // The bytes one token stands for; control and unknown tokens are empty unless rendered.
  std::string piece(int32_t id, bool render_special = false) const;
  std::string decode(std::span<const int32_t> ids, bool render_special = false) const;

  const Vocab& vocab() const { return vocab_; }
  int32_t size() const { return vocab_.size(); }
  bool ends_generation(int32_t id) const;  // eos or another end-of-generation token
  // Error naming the id when it is not in the vocabulary.
  void check_id(int32_t id) const;

 private:
  void encode_text(std::string_view text, bool at_input_start, bool parse_special, std::vector<int32_t>& out) const;
  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  // A character with no token: its byte tokens, the unknown token, or an error.
  void encode_unknown(std::string_view character, bool after_unknown, std::vector<int32_t>& out) const;
  // Token `id`, or (id < 0) `character` as an unknown one; tracks runs of unknowns for fuse_unk.
  void append_token(int32_t id, std::string_view character, bool& after_unknown, std::vector<int32_t>& out) const;

  Vocab vocab_;
  TokenIndex ids_;
  MergeIndex merges_;  // of vocab_.merges
  UnigramModel unigram_;  // Unigram vocabularies, of vocab_ and ids_
  int32_t byte_ids_[256];
  Normalizer normalizer_;
  PreTokenizer pre_tokenizer_;
  // Tokens matched in the raw text, and those matched in the normalized text.
  TextTokenMatcher raw_tokens_, normalized_tokens_;
};

// Feeds generated ids one at a time and returns the text that is complete so far: bytes of a
// character split across tokens are held back until the character is whole.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(tokenizer) {}
  std::string push(int32_t id);
  std::string flush();  // whatever is left, complete or not

 private:
  const Tokenizer& tokenizer_;
  std::string pending_;
};

}  // namespace vkllm
