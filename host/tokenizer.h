#pragma once
// Text <-> token ids for SentencePiece-style and byte-level BPE vocabularies, with special
// tokens, and a streaming decoder that never emits half a UTF-8 character.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "host/tokenizer/pretokenize.h"
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
  void encode_text(std::string_view text, bool first_in_text, std::vector<int32_t>& out) const;
  void encode_spm(std::string_view text, bool space_prefix, std::vector<int32_t>& out) const;
  void encode_byte_pairs(std::string_view text, std::vector<int32_t>& out) const;
  int32_t find(std::string_view text) const;  // -1 when absent
  std::optional<double> merge_rank(std::string_view left, std::string_view right) const;

  Vocab vocab_;
  std::unordered_map<std::string, int32_t> ids_;
  std::unordered_map<std::string, int32_t> merge_ranks_;  // key: merge_key(left, right)
  // Tokens matched in the text, longest text first: with parse_special (control, unknown and
  // user-defined) and without it (user-defined only).
  std::vector<int32_t> specials_, user_defined_;
  std::unique_ptr<PreTokenizer> pre_;                     // byte pairs only
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
