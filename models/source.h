#pragma once
// What a model file gives an architecture's loader, whatever its format: hyperparameters by
// GGUF key and tensors by canonical (GGUF) name. GGUF serves both as stored; a Hugging Face
// directory through the architecture's description (config.json keys, tensor names, layouts);
// a llama2.c checkpoint from its header and fixed order. An architecture's loader reads these
// alone, so each architecture is loaded by one function from every format.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "models/arch.h"
#include "models/model.h"
#include "runtime/hash.h"
#include "runtime/rope.h"
#include "runtime/tensor.h"
#include "runtime/weight.h"

namespace vkllm {

class Device;

class Hyperparameters {
 public:
  virtual ~Hyperparameters() = default;
  // Keys are GGUF's without "{arch}." ("embedding_length", "rope.scaling.factor").
  virtual std::optional<double> number(const std::string& key) const = 0;
  virtual std::optional<std::string> text(const std::string& key) const = 0;
  virtual std::optional<bool> boolean(const std::string& key) const = 0;
  // How the file names a key, for errors ("llama.embedding_length", "config.json 'hidden_size'").
  virtual std::string spelled(const std::string& key) const = 0;
  virtual const std::string& where() const = 0;  // the file or directory
  // The order of q/k rows in this file's projections: how RoPE must pair them.
  virtual RopePairing rope_pairing() const = 0;
  // Per layer: the attention window in positions (0: full); empty when every layer is full.
  // By default "attention.sliding_window" applies to every layer but every global_every-th
  // (Gemma: 2, 3: 6; "attention.sliding_window_pattern" where given; 0: none is global).
  // `stack` prefixes the keys (StackHyperparameters).
  virtual std::vector<int> sliding_windows(int n_layers, int global_every = 0, const std::string& stack = "") const;

  int integer(const std::string& key) const;  // Error naming the key when absent or not a whole number
  int integer(const std::string& key, int fallback) const;
  double real(const std::string& key, double fallback) const;
  bool flag(const std::string& key, bool fallback) const { return boolean(key).value_or(fallback); }
};

// One stack of an encoder-decoder model whose stacks are each configured like a model of
// their own (T5Gemma: config.json's "encoder" and "decoder"): key k is `prefix` + k.
class StackHyperparameters : public Hyperparameters {
 public:
  StackHyperparameters(const Hyperparameters& all, std::string prefix) : all_(all), prefix_(std::move(prefix)) {}
  std::optional<double> number(const std::string& key) const override { return all_.number(prefix_ + key); }
  std::optional<std::string> text(const std::string& key) const override { return all_.text(prefix_ + key); }
  std::optional<bool> boolean(const std::string& key) const override { return all_.boolean(prefix_ + key); }
  std::string spelled(const std::string& key) const override { return all_.spelled(prefix_ + key); }
  const std::string& where() const override { return all_.where(); }
  RopePairing rope_pairing() const override { return all_.rope_pairing(); }
  std::vector<int> sliding_windows(int n_layers, int global_every, const std::string& stack) const override {
    return all_.sliding_windows(n_layers, global_every, prefix_ + stack);
  }

 private:
  const Hyperparameters& all_;
  std::string prefix_;
};

class TensorSource {
 public:
  virtual ~TensorSource() = default;
  virtual const std::string& where() const = 0;
  virtual bool has(const std::string& name) const = 0;
  // The rows a stored matrix holds (its outer dimensions), before any shape is expected of it;
  // nullopt when absent or where the format does not say.
  virtual std::optional<int64_t> rows(const std::string&) const { return std::nullopt; }
  // [rows, cols] (a vector: [1, n]); Error naming the file and tensor when it is missing or
  // shaped otherwise.
  virtual Tensor tensor(const std::string& name, int64_t rows, int64_t cols) = 0;
  // A projection matrix: Q8_0 stays quantized for its kernel where the file stores it so.
  virtual Weight weight(const std::string& name, int64_t rows, int64_t cols) { return Weight::plain(tensor(name, rows, cols)); }
  // The values of a small F32 tensor the host uses itself (RoPE factors); nullopt when absent.
  virtual std::optional<std::vector<float>> host_values(const std::string& name, int64_t count) = 0;
  virtual void finish() {}  // after the last tensor: logs types that were converted
  // Of every tensor read so far: name, stored type, shape and a sample of its bytes (its start,
  // middle and end), so that two models differ unless their tensors look alike throughout.
  uint64_t fingerprint() const { return fingerprint_.value(); }

 protected:
  // Each source calls this for every tensor it reads, with the bytes as stored.
  void fingerprint_tensor(const std::string& name, const std::string& type, std::span<const int64_t> shape, const uint8_t* data,
                          uint64_t bytes);

 private:
  Hash64 fingerprint_;
};

// The architecture's loader over a format's sources, with Model::fingerprint set from the
// architecture and the tensors it read.
std::unique_ptr<Model> build_model(Device& device, const ArchDescription& arch, const Hyperparameters& h, TensorSource& tensors);

// Tensors by their description entry ("blk.{l}.attn_q.weight" with layer l; -1 for model-level
// tensors), shaped by the extents.
struct ArchTensors {
  TensorSource& source;
  const ArchDescription& arch;
  Extents extents;

  Tensor tensor(const std::string& pattern, int layer = -1);
  Weight weight(const std::string& pattern, int layer = -1);
  // The weights of `patterns` stacked by rows in that order (stack_rows): q/k/v, gate/up.
  StackedWeight stacked(Device& device, const std::vector<std::string>& patterns, int layer = -1);
  // Their biases likewise ([1, sum]); absent where the file has none, unless required.
  Tensor stacked_bias(Device& device, const std::vector<std::string>& patterns, int layer = -1, bool required = false);
  // Absent (no storage) where the description has no such tensor or the file lacks it.
  Tensor optional(const std::string& pattern, int layer = -1);
  bool has(const std::string& pattern, int layer = -1) const;
};

// RoPE from the hyperparameters: base, rotated dims, scaling (linear, YaRN, Llama 3) and
// GGUF's stored per-frequency factors, paired as the file stores q/k.
RopeConfig rope_from(const Hyperparameters& h, ArchTensors& t, int head_dim, int context);

}  // namespace vkllm
