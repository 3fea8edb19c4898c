#include <cmath>
#include <stdexcept>

#include "host/reference/reference.h"

namespace vkllm::ref {

namespace {
template <class F>
Mat binary(const Mat& a, const Mat& b, F f) {
  if (b.cols != a.cols || (b.rows != a.rows && b.rows != 1)) throw std::invalid_argument("ref binary: shape mismatch");
  Mat out(a.rows, a.cols);
  for (int64_t r = 0; r < a.rows; ++r)
    for (int64_t c = 0; c < a.cols; ++c) out.at(r, c) = f(a.at(r, c), b.at(b.rows == 1 ? 0 : r, c));
  return out;
}
template <class F>
Mat unary(const Mat& x, F f) {
  Mat out(x.rows, x.cols);
  for (size_t i = 0; i < x.v.size(); ++i) out.v[i] = f(x.v[i]);
  return out;
}
}  // namespace

Mat add(const Mat& a, const Mat& b) { return binary(a, b, [](float x, float y) { return x + y; }); }
Mat mul(const Mat& a, const Mat& b) { return binary(a, b, [](float x, float y) { return x * y; }); }
Mat scale(const Mat& x, float s) { return unary(x, [s](float v) { return v * s; }); }
Mat relu(const Mat& x) { return unary(x, [](float v) { return v > 0 ? v : 0.0f; }); }
Mat silu(const Mat& x) { return unary(x, [](float v) { return float(v / (1.0 + std::exp(-double(v)))); }); }
Mat gelu_tanh(const Mat& x) {
  return unary(x, [](float v) {
    const double d = v;
    return float(0.5 * d * (1.0 + std::tanh(0.7978845608028654 * (d + 0.044715 * d * d * d))));
  });
}
Mat gelu_erf(const Mat& x) {
  return unary(x, [](float v) { return float(0.5 * double(v) * (1.0 + std::erf(double(v) / std::sqrt(2.0)))); });
}

}  // namespace vkllm::ref
