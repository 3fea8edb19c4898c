#include "models/source.h"

#include <algorithm>
#include <cmath>

#include "runtime/error.h"

namespace vkllm {

std::vector<int> Hyperparameters::sliding_windows(int n_layers, int global_every, const std::string& stack) const {
  const int window = integer(stack + "attention.sliding_window", 0);
  if (window <= 0) return {};
  const std::string pattern = stack + "attention.sliding_window_pattern";
  const int every = integer(pattern, global_every);
  if (every < 0) throw Error(where() + ": " + spelled(pattern) + " must not be negative");
  std::vector<int> out(size_t(n_layers), window);
  for (int l = 0; every > 0 && l < n_layers; ++l)
    if ((l + 1) % every == 0) out[size_t(l)] = 0;
  return out;
}

int Hyperparameters::integer(const std::string& key) const {
  const auto v = number(key);
  if (!v) throw Error(where() + ": " + spelled(key) + " is missing");
  if (*v != std::floor(*v) || std::fabs(*v) > 2147483647.0) throw Error(where() + ": " + spelled(key) + " is not a whole number");
  return int(*v);
}

int Hyperparameters::integer(const std::string& key, int fallback) const { return number(key) ? integer(key) : fallback; }

double Hyperparameters::real(const std::string& key, double fallback) const { return number(key).value_or(fallback); }

void TensorSource::fingerprint_tensor(const std::string& name, const std::string& type, std::span<const int64_t> shape,
                                      const uint8_t* data, uint64_t bytes) {
  constexpr uint64_t kSample = 256;
  fingerprint_.add_text(name);
  fingerprint_.add_text(type);
  fingerprint_.add_span(shape);
  fingerprint_.add_u64(bytes);
  for (uint64_t at : {uint64_t(0), bytes / 2, bytes - std::min(bytes, kSample)})
    fingerprint_.add(data + at, size_t(std::min(kSample, bytes - at)));
}

std::unique_ptr<Model> build_model(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors) {
  std::unique_ptr<Model> model = arch.load(device, arch, h, tensors);
  Hash64 f;
  f.add_text(arch.name);
  f.add_u64(tensors.fingerprint());
  model->set_fingerprint(f.value());
  return model;
}

Tensor ArchTensors::tensor(const std::string& pattern, int layer) {
  const TensorSpec& s = arch.tensor(pattern);
  return source.tensor(layer_name(pattern, layer), extents.of(s.rows), extents.of(s.cols));
}

Weight ArchTensors::weight(const std::string& pattern, int layer) {
  const TensorSpec& s = arch.tensor(pattern);
  return source.weight(layer_name(pattern, layer), extents.of(s.rows), extents.of(s.cols));
}

StackedWeight ArchTensors::stacked(Device& device, const std::vector<std::string>& patterns, int layer) {
  std::vector<Weight> parts;
  for (const std::string& p : patterns) parts.push_back(weight(p, layer));
  return stack_rows(device, std::move(parts), layer_name(patterns[0], layer) + " (stacked)");
}

Tensor ArchTensors::stacked_bias(Device& device, const std::vector<std::string>& patterns, int layer, bool required) {
  std::vector<Tensor> rows;
  for (const std::string& p : patterns) rows.push_back(required ? tensor(p, layer) : optional(p, layer));
  return stack_cols(device, rows, layer_name(patterns[0], layer) + " (stacked)");
}

Tensor ArchTensors::optional(const std::string& pattern, int layer) { return has(pattern, layer) ? tensor(pattern, layer) : Tensor{}; }

bool ArchTensors::has(const std::string& pattern, int layer) const {
  return arch.find(pattern) && source.has(layer_name(pattern, layer));
}

RopeConfig rope_from(const Hyperparameters& h, ArchTensors& t, int head_dim, int context) {
  RopeConfig r;
  r.head_dim = head_dim;
  r.pairing = h.rope_pairing();
  const int rotated = h.integer("rope.dimension_count", head_dim);
  r.rotary_dim = rotated == head_dim ? 0 : rotated;
  r.theta = h.real("rope.freq_base", 10000.0);
  const std::string type = h.text("rope.scaling.type").value_or("none");
  const double factor = h.real("rope.scaling.factor", 1.0);
  if (type == "linear") {
    r.freq_scale = 1.0 / factor;
  } else if (type == "yarn") {
    r.freq_scale = 1.0 / factor;
    r.yarn_ext_factor = 1.0;
    r.yarn_original_context = h.integer("rope.scaling.original_context_length", context);
  } else if (type == "llama3") {
    r.llama3_factor = factor;
    r.llama3_low_freq_factor = h.real("rope.scaling.low_freq_factor", 1.0);
    r.llama3_high_freq_factor = h.real("rope.scaling.high_freq_factor", 4.0);
    r.llama3_original_context = h.integer("rope.scaling.original_context_length", 8192);
  } else if (type != "none" && type != "default") {
    throw Error(h.where() + ": RoPE scaling type '" + type + "' (" + h.spelled("rope.scaling.type") + ") is not supported");
  }
  if (t.arch.find("rope_freqs.weight"))
    if (auto factors = t.source.host_values("rope_freqs.weight", r.pairs())) r.freq_factors.assign(factors->begin(), factors->end());
  return r;
}

}  // namespace vkllm
