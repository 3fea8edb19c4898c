#include <cmath>
#include <stdexcept>

#include "host/reference/reference.h"

namespace vkllm::ref {

Mat rope(const Mat& x, int n_heads, const RopeConfig& c, const std::vector<std::vector<int32_t>>& positions,
         bool unit_magnitude) {
  const auto freqs = c.frequencies();
  const double m = unit_magnitude ? 1.0 : c.magnitude();
  const int hd = c.head_dim;
  if (x.cols != int64_t(n_heads) * hd || int(positions.size()) != c.streams())
    throw std::invalid_argument("ref rope: shape mismatch");
  Mat out = x;
  auto rotate = [&](int64_t t, int64_t base, int a, int b, size_t f, int stream) {
    const double angle = double(positions[size_t(stream)][size_t(t)]) * freqs[f];
    const double x0 = x.at(t, base + a), x1 = x.at(t, base + b);
    out.at(t, base + a) = float((x0 * std::cos(angle) - x1 * std::sin(angle)) * m);
    out.at(t, base + b) = float((x0 * std::sin(angle) + x1 * std::cos(angle)) * m);
  };
  for (int64_t t = 0; t < x.rows; ++t)
    for (int h = 0; h < n_heads; ++h) {
      const int64_t base = int64_t(h) * hd;
      const int r = c.rotated_dims(), pairs = c.pairs();
      for (int i = 0; i < pairs; ++i) {
        switch (c.pairing) {
          case RopePairing::Interleaved: rotate(t, base, 2 * i, 2 * i + 1, size_t(i), 0); break;
          case RopePairing::HalfSplit: rotate(t, base, i, i + r / 2, size_t(i), 0); break;
          case RopePairing::Glm2D:
            rotate(t, base, i, i + pairs, size_t(i), 0);                   // first half: positions
            rotate(t, base, hd / 2 + i, hd / 2 + i + pairs, size_t(i), 1);  // second half: block positions
            break;
        }
      }
    }
  return out;
}

}  // namespace vkllm::ref
