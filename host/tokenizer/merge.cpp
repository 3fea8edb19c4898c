#include "host/tokenizer/merge.h"

#include <queue>

#include "host/tokenizer/utf8.h"

namespace vkllm {

namespace {

struct Node {
  size_t start, length;
  int32_t id;
  int prev, next;
};

struct Candidate {
  double rank;
  int left, right;
  size_t length;  // merged length when proposed; a later merge of either side makes it stale
  int32_t id;
  bool operator<(const Candidate& o) const {  // priority_queue pops the largest: best rank, leftmost
    return rank != o.rank ? rank > o.rank : left > o.left;
  }
};

}  // namespace

std::vector<Symbol> merge_pairs(std::string_view text, const IdOf& id_of, const MergeOf& merge) {
  std::vector<Node> nodes;
  for (size_t i = 0; i < text.size();) {
    const size_t len = std::min(utf8::sequence_length(uint8_t(text[i])), text.size() - i);
    const int index = int(nodes.size());
    nodes.push_back({i, len, id_of(text.substr(i, len)), index - 1, index + 1});
    i += len;
  }
  if (!nodes.empty()) nodes.back().next = -1;

  auto symbol = [&](int n) { return Symbol{text.substr(nodes[n].start, nodes[n].length), nodes[n].id}; };
  std::priority_queue<Candidate> queue;
  auto propose = [&](int left, int right) {
    if (left < 0 || right < 0) return;
    const size_t length = nodes[left].length + nodes[right].length;
    if (auto m = merge(symbol(left), symbol(right), text.substr(nodes[left].start, length))) queue.push({m->rank, left, right, length, m->id});
  };
  for (size_t i = 1; i < nodes.size(); ++i) propose(int(i) - 1, int(i));

  while (!queue.empty()) {
    const Candidate c = queue.top();
    queue.pop();
    Node& left = nodes[c.left];
    Node& right = nodes[c.right];
    if (left.length == 0 || right.length == 0 || left.next != c.right || left.length + right.length != c.length) continue;
    left.length += right.length;
    left.id = c.id;
    right.length = 0;
    left.next = right.next;
    if (right.next >= 0) nodes[right.next].prev = c.left;
    propose(left.prev, c.left);
    propose(c.left, left.next);
  }

  std::vector<Symbol> out;
  for (int n = nodes.empty() ? -1 : 0; n >= 0; n = nodes[n].next) out.push_back(symbol(n));
  return out;
}

}  // namespace vkllm
