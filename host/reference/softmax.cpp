#include <algorithm>
#include <cmath>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat softmax(const Mat& x, int64_t n_valid) {
  const int64_t n = std::min(n_valid, x.cols);
  Mat out(x.rows, x.cols);
  for (int64_t r = 0; r < x.rows; ++r) {
    double m = -INFINITY, s = 0;
    for (int64_t c = 0; c < n; ++c) m = std::max(m, double(x.at(r, c)));
    for (int64_t c = 0; c < n; ++c) s += std::exp(x.at(r, c) - m);
    for (int64_t c = 0; c < x.cols; ++c) out.at(r, c) = c < n ? float(std::exp(x.at(r, c) - m) / s) : 0.0f;
  }
  return out;
}

}  // namespace vkllm::ref
