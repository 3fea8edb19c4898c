#include "host/tokenizer/merge.h"

#include <queue>

#include "host/tokenizer/utf8.h"

namespace vkllm {

namespace {

struct Symbol {
  size_t start, length;
  int prev, next;
};

struct Candidate {
  double rank;
  int left, right;
  size_t length;  // merged length when proposed; a later merge of either side makes it stale
  bool operator<(const Candidate& o) const {  // priority_queue pops the largest: best rank, leftmost
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

std::vector<std::string_view> merge_pairs(std::string_view text, const PairRank& rank) {
  std::vector<Symbol> symbols;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(utf8::sequence_length(uint8_t(text[i])), text.size() - i);
    const int index = int(symbols.size());
    symbols.push_back({i, len, index - 1, index + 1});
    i += len;
  }
  if (!symbols.empty()) symbols.back().next = -1;

  auto view = [&](int s) { return text.substr(symbols[s].start, symbols[s].length); };
  std::priority_queue<Candidate> queue;
  auto propose = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    if (auto r = rank(view(left), view(right))) queue.push({*r, left, right, symbols[left].length + symbols[right].length});
  };
  for (size_t i = 1; i < symbols.size(); ++i) propose(int(i) - 1, int(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Symbol& left = symbols[c.left];
    Symbol& right = symbols[c.right];
    if (left.length == 0 || right.length == 0 || left.next != c.right || left.length + right.length != c.length) continue;
    left.length += right.length;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = c.left;
    propose(left.prev, c.left);
    propose(c.left, left.next);
  }

  std::vector<std::string_view> out;
  for (int s = symbols.empty() ? -1 : 0; s >= 0; s = symbols[s].next) out.push_back(view(s));
  return out;
}

}  // namespace vkllm
