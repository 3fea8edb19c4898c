#pragma once
// One description per architecture, read by every format's loader and by make-model: its
// tensors by llama.cpp's GGUF names (the canonical ones; "{l}" stands for the layer), what
// Hugging Face checkpoints call them and how they lay them out, their shapes in terms of the
// hyperparameters, and what config.json calls each hyperparameter.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "runtime/rope.h"

namespace vkllm {

class Device;
class Hyperparameters;
class Model;
class TensorSource;
struct ArchDescription;

// An architecture's one loader: its config from the hyperparameters, its weights from the
// tensors, whatever the format.
using ArchLoader = std::unique_ptr<Model> (*)(Device& device, const ArchDescription& arch, const Hyperparameters& h,
                                              TensorSource& tensors);

// The sizes tensor shapes are given in.
enum class Extent { One, Dim, Ffn, Vocab, Context, KvWidth, QkvWidth, RopePairs, QWidth, HeadDim, Heads, Buckets, EncoderDim };
struct Extents {
  int64_t dim = 0, ffn = 0, vocab = 0, context = 0, kv_width = 0, rope_pairs = 0;
  int64_t q_width = 0;   // heads x head_dim where that is not dim (Gemma)
  int64_t head_dim = 0;  // per-head norms (Gemma 3's QK-norm)
  int64_t heads = 0, buckets = 0;  // relative position tables (T5)
  int64_t encoder_dim = 0;         // cross-attention K/V inputs, where the encoder is wider (T5Gemma 9B-2B)
  int64_t of(Extent e) const;
};

// What a tensor is, which is also how make-model fills it.
enum class TensorRole {
  Matrix,    // a projection or embedding: random, stored in the model's matrix type
  Norm,      // a norm's weight: ones, f32
  NormBias,  // a norm's bias: zeros, f32
  Bias,      // a projection's bias: random, f32
  Table,     // learned positions: random, f32
  RopeFactors,  // per-frequency RoPE divisors (rope_freqs.weight): written only when given
};

// How a Hugging Face checkpoint stores a tensor, where it differs from GGUF.
enum class HfLayout {
  AsIs,
  Transposed,      // [cols, rows]: GPT-2's Conv1D
  PerHeadQkvRows,  // rows per head [q k v] instead of [all q; all k; all v]: ChatGLM-6B
  NormMinusOne,    // a norm's w where GGUF and the model hold 1 + w: Gemma
};

struct TensorSpec {
  std::string name;  // canonical, e.g. "blk.{l}.attn_q.weight"
  std::string hf;    // the Hugging Face name, e.g. "model.layers.{l}.self_attn.q_proj.weight"; alternatives
                     // separated by '|' (T5 v1.1's wi_1, v1.0's wi)
  Extent rows, cols;
  TensorRole role;
  bool optional = false;  // absence means something (the output matrix: tied to the embedding)
  HfLayout layout = HfLayout::AsIs;
};

// A hyperparameter: GGUF's key (after "{arch}.") and config.json's: a path through nested
// objects ("rope_scaling.factor"), alternatives separated by '|'; empty where it has none.
struct HparamSpec {
  std::string gguf, hf;
};

struct ArchDescription {
  std::string name;                     // GGUF general.architecture
  ArchLoader load = nullptr;
  std::vector<std::string> hf_classes;  // config.json "architectures" it loads
  RopePairing gguf_pairing = RopePairing::Interleaved;  // how llama.cpp's converter stores q/k
  // Other spellings of every Hugging Face name: its leading `from` replaced by `to`, tried in
  // order before the name itself (GPT-2's "transformer." prefix, a multimodal checkpoint's
  // language model).
  struct HfRename {
    std::string from, to;
  };
  std::vector<HfRename> hf_renames;
  // config.json's values where a checkpoint leaves them out: its config class's defaults, as
  // a JSON object (Gemma 3's multimodal configs give only what differs).
  std::string hf_defaults;
  std::vector<HparamSpec> hparams;
  std::vector<TensorSpec> tensors;

  const TensorSpec* find(const std::string& name) const;  // by canonical pattern
  const TensorSpec& tensor(const std::string& name) const;  // Error naming it when unknown
  const HparamSpec* hparam(const std::string& gguf_key) const;
};

// Error naming the known ones for another name.
const ArchDescription& arch_description(const std::string& name);
const ArchDescription* arch_for_hf_class(const std::string& hf_class);
std::string supported_hf_classes();  // "A, B and C", for errors

// A per-layer name for one layer: "{l}" replaced.
std::string layer_name(const std::string& pattern, int layer);
// The '|'-separated alternatives of a Hugging Face name or key, in order.
std::vector<std::string> alternatives(const std::string& names);
// The spec a concrete name instantiates, with its layer (-1 for a model-level tensor).
const TensorSpec* match_tensor(const ArchDescription& d, const std::string& name, int& layer);

}  // namespace vkllm
