#include <stdexcept>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat matmul(const Mat& w, const Mat& x) {
  if (w.cols != x.cols) throw std::invalid_argument("ref matmul: inner dimensions differ");
  Mat y(x.rows, w.rows);
  for (int64_t n = 0; n < x.rows; ++n)
    for (int64_t m = 0; m < w.rows; ++m) {
      double s = 0;
      for (int64_t k = 0; k < w.cols; ++k) s += double(w.at(m, k)) * x.at(n, k);
      y.at(n, m) = float(s);
    }
  return y;
}

}  // namespace vkllm::ref
