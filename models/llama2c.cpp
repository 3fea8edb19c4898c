#include "models/llama2c.h"

#include <cstdint>
#include <cstring>
#include <map>

#include "models/arch.h"
#include "models/mapped_file.h"
#include "models/source.h"
#include "models/upload.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

// The header as the description's hyperparameters.
class Llama2cHyperparameters : public Hyperparameters {
 public:
  Llama2cHyperparameters(std::string path, std::map<std::string, double> values) : path_(std::move(path)), values_(std::move(values)) {}
  std::optional<double> number(const std::string& key) const override {
    auto it = values_.find(key);
    return it == values_.end() ? std::nullopt : std::optional<double>(it->second);
  }
  std::optional<std::string> text(const std::string&) const override { return std::nullopt; }
  std::optional<bool> boolean(const std::string&) const override { return std::nullopt; }
  std::string spelled(const std::string& key) const override { return "the header's " + key; }
  const std::string& where() const override { return path_; }
  RopePairing rope_pairing() const override { return RopePairing::Interleaved; }  // Meta's order, theta 10000

 private:
  std::string path_;
  std::map<std::string, double> values_;
};

// The fixed order of float32 arrays, each stacked over the layers, as canonical names.
class Llama2cTensors : public TensorSource {
 public:
  Llama2cTensors(Device& device, std::string path, const MappedFile& file) : device_(device), path_(std::move(path)), file_(file) {}
  // Records `layers` consecutive [rows, cols] matrices at the read position under `name`
  // ("{l}" for the layer). The caller has checked the file's size against the header.
  void add(const std::string& name, int64_t layers, int64_t rows, int64_t cols) {
    for (int64_t l = 0; l < layers; ++l) {
      entries_[layer_name(name, int(l))] = {at_, rows, cols};
      at_ += uint64_t(rows * cols) * 4;
    }
  }
  void skip(uint64_t bytes) { at_ += bytes; }

  const std::string& where() const override { return path_; }
  bool has(const std::string& name) const override { return entries_.count(name) > 0; }
  Tensor tensor(const std::string& name, int64_t rows, int64_t cols) override {
    auto it = entries_.find(name);
    if (it == entries_.end()) throw Error(path_ + ": a llama2.c checkpoint has no tensor '" + name + "'");
    const Entry& e = it->second;
    if (e.rows != rows || e.cols != cols)
      throw Error(path_ + ": '" + name + "' is [" + std::to_string(e.rows) + " x " + std::to_string(e.cols) + "], expected [" +
                  std::to_string(rows) + " x " + std::to_string(cols) + "]");
    const int64_t shape[] = {rows, cols};
    fingerprint_tensor(name, "F32", shape, file_.data() + e.offset, uint64_t(rows * cols) * 4);
    return upload_dense(device_, StoredType::F32, rows, cols, file_.data() + e.offset, name);
  }
  std::optional<std::vector<float>> host_values(const std::string&, int64_t) override { return std::nullopt; }

 private:
  struct Entry {
    uint64_t offset;
    int64_t rows, cols;
  };
  Device& device_;
  std::string path_;
  const MappedFile& file_;
  uint64_t at_ = 28;  // past the header
  std::map<std::string, Entry> entries_;
};

}  // namespace

Llama2cHeader read_llama2c_header(const MappedFile& file, const std::string& path) {
  int32_t h[7];
  std::memcpy(h, file.data(), sizeof h);
  const char* names[7] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
  for (int i = 0; i < 7; ++i)
    if (h[i] == 0 || (i != 5 && h[i] < 0) || std::abs(int64_t(h[i])) > (int64_t(1) << 24))
      throw Error(path + ": implausible header field " + names[i] + " = " + std::to_string(h[i]));
  Llama2cHeader r;
  r.dim = h[0], r.hidden = h[1], r.layers = h[2], r.heads = h[3], r.kv_heads = h[4], r.context = h[6];
  r.tied = h[5] > 0;  // a negative vocabulary size: a separate classifier follows
  r.vocab = r.tied ? h[5] : -h[5];
  if (r.dim % r.heads || r.heads % r.kv_heads)
    throw Error(path + ": dim " + std::to_string(r.dim) + " and heads " + std::to_string(r.heads) + "/" + std::to_string(r.kv_heads) +
                " do not divide");
  // Each field is below 2^24, so a product of three needs more than 64 bits: count in 128.
  using Wide = __int128;
  const Wide L = r.layers, d = r.dim, f = r.hidden, kv = Wide(r.kv_heads) * (r.dim / r.heads), v = r.vocab;
  const Wide weights = v * d + L * d + 2 * L * d * d + 2 * L * kv * d + L * d + 3 * L * f * d + d + (r.tied ? 0 : v * d);
  const Wide freq_cis = Wide(r.context) * (r.dim / r.heads);  // two legacy arrays of seq_len * head_dim / 2
  const Wide size = Wide(file.size()), expected = 28 + 4 * weights;
  auto text = [](Wide x) { return x > Wide(INT64_MAX) ? std::string("more than 2^63") : std::to_string(int64_t(x)); };
  if (size != expected && size != expected + 4 * freq_cis)
    throw Error(path + ": " + text(size) + " bytes, but its header describes " + text(expected) + " (or " + text(expected + 4 * freq_cis) +
                " with the legacy RoPE tables): truncated or not a llama2.c file");
  r.legacy_rope_bytes = size == expected ? 0 : uint64_t(4 * freq_cis);
  return r;
}

std::unique_ptr<LlamaModel> load_llama2c(Device& device, const std::string& path) {
  const MappedFile file(path, 28, "a llama2.c checkpoint");
  const Llama2cHeader r = read_llama2c_header(file, path);
  const Llama2cHyperparameters hp(path, {{"embedding_length", r.dim},
                                          {"feed_forward_length", r.hidden},
                                          {"block_count", r.layers},
                                          {"attention.head_count", r.heads},
                                          {"attention.head_count_kv", r.kv_heads},
                                          {"vocab_size", r.vocab},
                                          {"context_length", r.context}});
  const int64_t L = r.layers, d = r.dim, f = r.hidden, kv = int64_t(r.kv_heads) * (r.dim / r.heads), v = r.vocab;
  const bool tied = r.tied;
  Llama2cTensors t(device, path, file);
  t.add("token_embd.weight", 1, v, d);
  t.add("blk.{l}.attn_norm.weight", L, 1, d);
  t.add("blk.{l}.attn_q.weight", L, d, d);
  t.add("blk.{l}.attn_k.weight", L, kv, d);
  t.add("blk.{l}.attn_v.weight", L, kv, d);
  t.add("blk.{l}.attn_output.weight", L, d, d);
  t.add("blk.{l}.ffn_norm.weight", L, 1, d);
  t.add("blk.{l}.ffn_gate.weight", L, f, d);  // w1
  t.add("blk.{l}.ffn_down.weight", L, d, f);  // w2
  t.add("blk.{l}.ffn_up.weight", L, f, d);    // w3
  t.add("output_norm.weight", 1, 1, d);
  if (!tied) {
    t.skip(r.legacy_rope_bytes);  // the classifier follows the legacy RoPE tables, where the file has them
    t.add("output.weight", 1, v, d);
  }
  const ArchDescription& arch = arch_description("llama");
  std::unique_ptr<Model> model = build_model(device, arch, hp, t);
  return std::unique_ptr<LlamaModel>(static_cast<LlamaModel*>(model.release()));
}

}  // namespace vkllm
