#pragma once
// The Unigram model (SentencePiece's; T5's vocabularies): a piece becomes the tokens whose
// scores (log probabilities) sum highest, found by Viterbi over its characters as Hugging Face
// tokenizers does (a tie keeps the path found first). Normal and user-defined tokens take
// part; a character no such token begins costs the lowest score minus 10 (SentencePiece's
// penalty) and comes back as unknown.
#include <cstdint>
#include <string_view>
#include <vector>

#include "host/tokenizer/token_index.h"
#include "host/vocab.h"

namespace vkllm {

struct UnigramToken {
  int32_t id;  // < 0: one character no token begins
  size_t begin, end;
};

// What Viterbi needs beyond the vocabulary, which the caller keeps and passes in (as with
// MergeIndex), so a Tokenizer holding both can move.
class UnigramModel {
 public:
  UnigramModel() = default;
  explicit UnigramModel(const Vocab& vocab);
  // `ids` indexes vocab.tokens.
  std::vector<UnigramToken> segment(std::string_view piece, const Vocab& vocab, const TokenIndex& ids) const;

 private:
  size_t longest_ = 0;  // bytes of the longest token that takes part
  double unknown_score_ = 0;
};

}  // namespace vkllm
