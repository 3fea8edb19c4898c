#include "runtime/rope.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>

#include "runtime/device.h"
#include "runtime/error.h"

namespace vkllm {

const char* rope_pairing_name(RopePairing p) {
  switch (p) {
    case RopePairing::Interleaved: return "interleaved";
    case RopePairing::HalfSplit: return "half-split";
    case RopePairing::Glm2D: return "glm-2d";
  }
  return "?";
}

int RopeConfig::rotated_dims() const {
  if (pairing == RopePairing::Glm2D) return head_dim / 2;
  return rotary_dim > 0 ? rotary_dim : head_dim;
}

int RopeConfig::pairs() const { return rotated_dims() / 2; }

void RopeConfig::validate() const {
  auto fail = [&](const std::string& why) {
    throw Error(std::string("RoPE (") + rope_pairing_name(pairing) + ", head_dim " + std::to_string(head_dim) +
                ", rotary_dim " + std::to_string(rotary_dim) + "): " + why);
  };
  if (head_dim <= 0 || head_dim % 2) fail("head_dim must be positive and even");
  if (pairing == RopePairing::Glm2D && (head_dim % 4 || rotary_dim != 0))
    fail("2D RoPE needs head_dim divisible by 4 and rotates fixed halves (rotary_dim must be 0)");
  if (rotary_dim < 0 || rotary_dim > head_dim || rotary_dim % 2) fail("rotary_dim must be even and at most head_dim");
  if (theta <= 0 || freq_scale <= 0) fail("theta and freq_scale must be positive");
  if (!freq_factors.empty() && int(freq_factors.size()) != pairs())
    fail(std::to_string(freq_factors.size()) + " frequency factors for " + std::to_string(pairs()) + " rotated pairs");
  for (double f : freq_factors)
    if (!(f > 0)) fail("frequency factors must be positive");
}

std::vector<double> RopeConfig::frequencies() const {
  validate();
  const int r = rotated_dims();
  std::vector<double> f(static_cast<size_t>(pairs()));
  // YaRN correction range: dims whose wavelength fits the original context keep extrapolated angles.
  double low = 0, high = 0;
  if (yarn_ext_factor != 0.0) {
    const double n_ctx = yarn_original_context > 0 ? yarn_original_context : 4096;
    auto corr_dim = [&](double n_rot) {
      return r * std::log(n_ctx / (n_rot * 2 * std::numbers::pi)) / (2 * std::log(theta));
    };
    low = std::max(0.0, std::floor(corr_dim(yarn_beta_fast)));
    high = std::min(double(r - 1), std::ceil(corr_dim(yarn_beta_slow)));
  }
  for (size_t i = 0; i < f.size(); ++i) {
    double freq = std::pow(theta, -2.0 * double(i) / r);
    if (!freq_factors.empty()) freq /= freq_factors[i];
    if (llama3_factor > 0) {
      const double wavelen = 2 * std::numbers::pi / freq;
      const double low_wavelen = llama3_original_context / llama3_low_freq_factor;
      const double high_wavelen = llama3_original_context / llama3_high_freq_factor;
      if (wavelen > low_wavelen) {
        freq /= llama3_factor;
      } else if (wavelen >= high_wavelen) {
        const double smooth = (llama3_original_context / wavelen - llama3_low_freq_factor) /
                              (llama3_high_freq_factor - llama3_low_freq_factor);
        freq = (1 - smooth) * freq / llama3_factor + smooth * freq;
      }
    }
    double mix = 0;  // share of the extrapolated (unscaled) angle
    if (yarn_ext_factor != 0.0) {
      const double y = (double(i) - low) / std::max(0.001, high - low);
      mix = (1 - std::clamp(y, 0.0, 1.0)) * yarn_ext_factor;
    }
    f[i] = freq * (freq_scale * (1 - mix) + mix);
  }
  return f;
}

double RopeConfig::magnitude() const {
  double m = yarn_attn_factor;
  if (yarn_ext_factor != 0.0) m *= 1.0 + 0.1 * std::log(1.0 / freq_scale);
  return m;
}

std::vector<float> RopeTable::compute(const RopeConfig& c, int32_t first, int32_t step, int64_t rows,
                                      bool unit_magnitude) {
  const auto f = c.frequencies();
  const double m = unit_magnitude ? 1.0 : c.magnitude();
  std::vector<float> out(size_t(rows) * f.size() * 2);
  for (int64_t r = 0; r < rows; ++r)
    for (size_t i = 0; i < f.size(); ++i) {
      const double angle = (double(first) + double(step) * double(r)) * f[i];
      out[(size_t(r) * f.size() + i) * 2] = float(std::cos(angle) * m);
      out[(size_t(r) * f.size() + i) * 2 + 1] = float(std::sin(angle) * m);
    }
  return out;
}

RopeTable RopeTable::build(Device& d, const RopeConfig& c, int32_t first, int64_t count, bool unit_magnitude) {
  if (count <= 0) throw Error("a RoPE table needs at least one position");
  RopeTable t;
  t.config = c;
  t.first = first;
  t.count = count;
  t.coarse_rows = (count + kFine - 1) / kFine;
  auto values = compute(c, first, kFine, t.coarse_rows, unit_magnitude);
  auto fine = compute(c, 0, 1, kFine, true);
  values.insert(values.end(), fine.begin(), fine.end());
  t.cos_sin = d.tensor(DType::F32, t.coarse_rows + kFine, 2 * c.pairs(), "rope table");
  d.upload(t.cos_sin, values.data());
  return t;
}

RopeTable RopeTable::delta(Device& d, const RopeConfig& c, int32_t delta, int32_t block_delta) {
  RopeTable t;
  t.config = c;
  t.count = c.streams();
  auto values = compute(c, delta, 1, 1, true);
  if (c.streams() == 2) {
    auto block = compute(c, block_delta, 1, 1, true);
    values.insert(values.end(), block.begin(), block.end());
  }
  t.cos_sin = d.tensor(DType::F32, t.count, 2 * c.pairs(), "rope delta");
  d.upload(t.cos_sin, values.data());
  return t;
}

}  // namespace vkllm
