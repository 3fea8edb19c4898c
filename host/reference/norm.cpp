#include <cmath>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat rmsnorm(const Mat& x, std::span<const float> w, float eps) {
  Mat out(x.rows, x.cols);
  const int64_t width = int64_t(w.size());
  for (int64_t r = 0; r < x.rows; ++r)
    for (int64_t s = 0; s < x.cols; s += width) {
      double ss = 0;
      for (int64_t c = 0; c < width; ++c) ss += double(x.at(r, s + c)) * x.at(r, s + c);
      const double inv = 1.0 / std::sqrt(ss / double(width) + eps);
      for (int64_t c = 0; c < width; ++c) out.at(r, s + c) = float(x.at(r, s + c) * inv * w[size_t(c)]);
    }
  return out;
}

Mat layernorm(const Mat& x, std::span<const float> w, std::span<const float> b, float eps) {
  Mat out(x.rows, x.cols);
  for (int64_t r = 0; r < x.rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < x.cols; ++c) mean += x.at(r, c);
    mean /= double(x.cols);
    for (int64_t c = 0; c < x.cols; ++c) var += (x.at(r, c) - mean) * (x.at(r, c) - mean);
    const double inv = 1.0 / std::sqrt(var / double(x.cols) + eps);
    for (int64_t c = 0; c < x.cols; ++c) out.at(r, c) = float((x.at(r, c) - mean) * inv * w[size_t(c)] + b[size_t(c)]);
  }
  return out;
}

}  // namespace vkllm::ref
