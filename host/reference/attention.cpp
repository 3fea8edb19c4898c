#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <vector>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat attention(const Mat& q, const Mat& k, const Mat& v, std::span<const int32_t> key_pos, std::span<const int32_t> query_pos,
              const AttentionSpec& s, Mat* probs) {
  const int64_t n_kv = s.n_kv < 0 ? k.rows : s.n_kv;
  const int group = s.n_heads / s.n_kv_heads;
  const double scale = s.scale > 0 ? s.scale : 1.0 / std::sqrt(double(s.head_dim));
  Mat out(q.rows, q.cols);
  if (probs) *probs = Mat(int64_t(s.n_heads) * q.rows, n_kv);
  std::vector<double> score(static_cast<size_t>(n_kv));
  for (int64_t i = 0; i < q.rows; ++i)
    for (int h = 0; h < s.n_heads; ++h) {
      const int kvh = h / group;
      double mx = -INFINITY;
      for (int64_t t = 0; t < n_kv; ++t) {
        double dot = 0;
        for (int d = 0; d < s.head_dim; ++d)
          dot += double(float(q.at(i, h * s.head_dim + d) * float(scale))) * k.at(t, kvh * s.head_dim + d);
        if (s.softcap > 0) dot = s.softcap * std::tanh(dot / s.softcap);
        bool visible = true;
        if (s.mask == 1 || s.mask == 3) {
          visible = key_pos[size_t(t)] <= query_pos[size_t(i)];
          if (s.mask == 3) visible = visible && query_pos[size_t(i)] - key_pos[size_t(t)] < s.window;
        } else if (s.mask == 2) {
          visible = t < s.prefix || t <= s.first_query_slot + i;
        } else if (s.mask == 4) {
          const int before = query_pos[size_t(i)] - key_pos[size_t(t)];
          visible = before < s.window && -before < (s.window_after > 0 ? s.window_after : s.window);
        }
        if (s.explicit_mask) dot += s.explicit_mask->rows == q.rows ? s.explicit_mask->at(i, t) : s.explicit_mask->at(h * q.rows + i, t);
        score[size_t(t)] = visible ? dot : -INFINITY;
        mx = std::max(mx, score[size_t(t)]);
      }
      double sum = 0;
      for (auto& e : score) {
        e = mx == -INFINITY ? 0.0 : std::exp(e - mx);
        sum += e;
      }
      for (int d = 0; d < s.head_dim; ++d) {
        double acc = 0;
        for (int64_t t = 0; t < n_kv; ++t) acc += score[size_t(t)] * v.at(t, kvh * s.head_dim + d);
        out.at(i, h * s.head_dim + d) = sum > 0 ? float(acc / sum) : 0.0f;
      }
      if (probs)
        for (int64_t t = 0; t < n_kv; ++t) probs->at(int64_t(h) * q.rows + i, t) = sum > 0 ? float(score[size_t(t)] / sum) : 0.0f;
    }
  return out;
}

Mat position_bias(const Mat& table, std::span<const int32_t> by_distance, bool bidirectional, std::span<const int32_t> key_pos,
                  std::span<const int32_t> query_pos) {
  const int64_t heads = table.cols, n_q = int64_t(query_pos.size()), n_kv = int64_t(key_pos.size());
  Mat out(heads * n_q, n_kv);
  for (int64_t i = 0; i < n_q; ++i)
    for (int64_t t = 0; t < n_kv; ++t) {
      const int64_t rel = int64_t(key_pos[size_t(t)]) - query_pos[size_t(i)];
      const int64_t distance = bidirectional ? std::abs(rel) : std::max<int64_t>(-rel, 0);
      const int64_t bucket = (bidirectional && rel > 0 ? table.rows / 2 : 0) +
                             by_distance[size_t(std::min<int64_t>(distance, int64_t(by_distance.size()) - 1))];
      for (int64_t h = 0; h < heads; ++h) out.at(h * n_q + i, t) = table.at(bucket, h);
    }
  return out;
}

}  // namespace vkllm::ref
