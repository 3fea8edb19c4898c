#pragma once
// Rotary position embeddings. One description (RopeConfig) covers every pairing real models
// use. Angles come from cos/sin tables computed on the host in double precision, so a rotation
// at position 100000 is as exact as one at position 1 and re-rotating cached keys by a delta
// equals rotating them at the new position from scratch (f32 angle arithmetic on the GPU would
// be off by ~2e-4 rad at position 4096).
#include <cstdint>
#include <span>
#include <vector>

#include "runtime/tensor.h"

namespace vkllm {

class Device;

enum class RopePairing {
  Interleaved,  // (x[2i], x[2i+1]): Meta/GPT-J, llama.cpp "norm" (llama, stories260K)
  HalfSplit,    // (x[i], x[i + r/2]): GPT-NeoX, HF rotate_half, llama.cpp "neox" (qwen2, gemma, phi)
  Glm2D,        // ChatGLM-6B: first half of the head by positions, second half by block
                // positions, each half with half-split pairing over its own dims
};
const char* rope_pairing_name(RopePairing p);

struct RopeConfig {
  RopePairing pairing = RopePairing::Interleaved;
  int head_dim = 0;
  int rotary_dim = 0;  // dims rotated from the start of each head (0: all); the rest pass through
  double theta = 10000.0;
  double freq_scale = 1.0;  // linear scaling: 1 / factor
  // Llama 3 frequency scaling (rope_scaling type "llama3"); factor 0 disables it.
  double llama3_factor = 0.0, llama3_low_freq_factor = 1.0, llama3_high_freq_factor = 4.0;
  int llama3_original_context = 8192;
  // YaRN (as llama.cpp applies it); ext_factor 0 disables the ramp.
  double yarn_ext_factor = 0.0, yarn_attn_factor = 1.0, yarn_beta_fast = 32.0, yarn_beta_slow = 1.0;
  int yarn_original_context = 0;
  // Per pair: its base frequency is divided by this (GGUF rope_freqs.weight: Llama 3.1's
  // scaling stored as factors). Empty: none.
  std::vector<double> freq_factors;

  bool operator==(const RopeConfig&) const = default;
  int rotated_dims() const;  // per frequency stream
  int pairs() const;         // frequencies per stream: rotated_dims() / 2
  int streams() const { return pairing == RopePairing::Glm2D ? 2 : 1; }
  void validate() const;     // throws on an impossible combination
  // Angle of pair i at position p is p * frequencies()[i]; cos/sin are multiplied by magnitude().
  std::vector<double> frequencies() const;
  double magnitude() const;
};

// cos/sin for positions [first, first + count), in two levels so that long contexts stay small
// and one descriptor always covers the table: rows [0, coarse_rows) hold the angles of
// first + 256 * j (with the YaRN magnitude), rows [coarse_rows, coarse_rows + 256) the angles
// of 0..255 (unit magnitude); the shader adds the two angles (cos/sin addition formulas, ~1e-7).
// A delta table (RopeTable::delta) instead holds one pure rotation per position stream.
struct RopeTable {
  static constexpr int kFine = 256;
  RopeConfig config;
  int32_t first = 0;
  int64_t count = 0;
  int64_t coarse_rows = 0;
  Tensor cos_sin;  // F32 [rows, 2 * pairs]

  // unit_magnitude: pure rotations, without the YaRN magnitude (re-rotating cached keys by
  // per-row deltas, which ops::rope takes as positions).
  static RopeTable build(Device& d, const RopeConfig& c, int32_t first, int64_t count, bool unit_magnitude = false);
  // Pure rotations by a position delta (and, for 2D RoPE, a block-position delta): one row per
  // stream, without the YaRN magnitude, for re-rotating cached keys (ops::rope_shift).
  static RopeTable delta(Device& d, const RopeConfig& c, int32_t delta, int32_t block_delta = 0);
  // (cos, sin) of (first + step * r) * f[i] for r < rows, i < pairs, scaled by the magnitude unless unit.
  static std::vector<float> compute(const RopeConfig& c, int32_t first, int32_t step, int64_t rows, bool unit_magnitude);
};

}  // namespace vkllm
