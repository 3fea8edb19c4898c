#include "host/tokenizer/unigram.h"

#include <algorithm>
#include <limits>

#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
constexpr double kUnknownPenalty = 10.0;

bool takes_part(TokenType t) { return t == TokenType::Normal || t == TokenType::UserDefined; }
}  // namespace

UnigramModel::UnigramModel(const Vocab& vocab) {
  require(vocab.scores.size() == vocab.tokens.size(), "tokenizer: a Unigram vocabulary needs one score per token");
  double lowest = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < vocab.tokens.size(); ++i) {
    lowest = std::min(lowest, double(vocab.scores[i]));
    if (takes_part(vocab.types[i])) longest_ = std::max(longest_, vocab.tokens[i].size());
  }
  unknown_score_ = lowest - kUnknownPenalty;
}

std::vector<UnigramToken> UnigramModel::segment(std::string_view piece, const Vocab& vocab, const TokenIndex& ids) const {
  // best[e]: the highest score of a segmentation of piece[0, e) and its last token.
  struct Best {
    double score = 0;
    size_t start = std::string_view::npos;  // npos: no segmentation reaches here yet
    int32_t id = -1;
  };
  std::vector<Best> best(piece.size() + 1);
  best[0].start = 0;
  for (size_t start = 0; start < piece.size();) {
    size_t char_end = start;
    utf8::decode(piece, char_end);
    const double here = best[start].score;
    auto offer = [&](size_t end, int32_t id, double score) {
      Best& b = best[end];
      if (b.start == std::string_view::npos || here + score > b.score) b = {here + score, start, id};
    };
    bool one_character_token = false;
    for (size_t end = char_end; end <= piece.size() && end - start <= longest_;) {
      const int32_t id = ids.find(piece.substr(start, end - start));
      if (id >= 0 && takes_part(vocab.types[size_t(id)])) {
        offer(end, id, vocab.scores[size_t(id)]);
        one_character_token = one_character_token || end == char_end;
      }
      if (end == piece.size()) break;
      utf8::decode(piece, end);
    }
    if (!one_character_token) offer(char_end, -1, unknown_score_);
    start = char_end;
  }
  std::vector<UnigramToken> out;
  for (size_t end = piece.size(); end > 0; end = best[end].start) out.push_back({best[end].id, best[end].start, end});
  std::reverse(out.begin(), out.end());
  return out;
}

}  // namespace vkllm
