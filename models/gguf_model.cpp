#include "models/gguf_model.h"

#include <algorithm>
#include <cstring>

#include "models/gguf_upload.h"
#include "models/source.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

class GgufHyperparameters : public Hyperparameters {
 public:
  GgufHyperparameters(const GgufFile& file, const ArchDescription& arch) : file_(file), arch_(arch) {}
  // "tokenizer." and "general." keys are the file's own; the rest sit under "{arch}.".
  std::string spelled(const std::string& key) const override {
    return key.starts_with("tokenizer.") || key.starts_with("general.") ? key : arch_.name + "." + key;
  }
  const std::string& where() const override { return file_.path(); }
  RopePairing rope_pairing() const override { return arch_.gguf_pairing; }
  std::optional<double> number(const std::string& key) const override {
    const std::string k = spelled(key);
    if (key == "vocab_size" && !file_.has(k)) {  // llama.cpp does not always write it: the embedding's rows
      const GgufTensor& embd = file_.tensor("token_embd.weight");
      return double(embd.dims.size() > 1 ? embd.dims[1] : 0);
    }
    auto it = file_.metadata().find(k);
    if (it == file_.metadata().end()) return std::nullopt;
    if (auto u = std::get_if<uint64_t>(&it->second.v)) return double(*u);
    if (auto i = std::get_if<int64_t>(&it->second.v)) return double(*i);
    if (auto d = std::get_if<double>(&it->second.v)) return *d;
    throw Error(file_.path() + ": " + k + " is not a number");
  }
  std::optional<std::string> text(const std::string& key) const override {
    const std::string k = spelled(key);
    if (!file_.has(k)) return std::nullopt;
    return file_.get_string(k);
  }
  std::optional<bool> boolean(const std::string& key) const override {
    const std::string k = spelled(key);
    if (!file_.has(k)) return std::nullopt;
    return file_.get_bool(k);
  }

 private:
  const GgufFile& file_;
  const ArchDescription& arch_;
};

class GgufTensors : public TensorSource {
 public:
  GgufTensors(Device& device, const GgufFile& file) : file_(file), up_(device, file) {}
  const std::string& where() const override { return file_.path(); }
  bool has(const std::string& name) const override { return file_.find(name) != nullptr; }
  std::optional<int64_t> rows(const std::string& name) const override {
    const GgufTensor* t = file_.find(name);
    if (!t || t->dims.empty() || t->dims[0] == 0) return std::nullopt;
    return int64_t(t->elements() / t->dims[0]);
  }
  Tensor tensor(const std::string& name, int64_t rows, int64_t cols) override { return up_.tensor(read(name, rows, cols)); }
  Weight weight(const std::string& name, int64_t rows, int64_t cols) override { return up_.weight(read(name, rows, cols)); }
  std::optional<std::vector<float>> host_values(const std::string& name, int64_t count) override {
    const GgufTensor* t = file_.find(name);
    if (!t) return std::nullopt;
    if (GgmlType(t->type) != GgmlType::F32 || t->elements() != uint64_t(count))
      throw Error(file_.path() + ": " + name + " must be " + std::to_string(count) + " F32 values");
    std::vector<float> v(static_cast<size_t>(count));
    std::memcpy(v.data(), t->data, v.size() * 4);
    return v;
  }
  void finish() override { up_.log_dequantized(); }

 private:
  // GGUF dims run innermost first: [cols, rows...].
  const GgufTensor& shaped(const std::string& name, int64_t rows, int64_t cols) const {
    const GgufTensor& t = file_.tensor(name);
    if (t.dims.empty() || int64_t(t.dims[0]) != cols || int64_t(t.elements()) != rows * cols) {
      std::string dims;
      for (uint64_t d : t.dims) dims.append(dims.empty() ? "" : ", ").append(std::to_string(d));
      throw Error(file_.path() + ": tensor '" + name + "' has dims [" + dims + "], expected " + std::to_string(rows) + " rows of " +
                  std::to_string(cols));
    }
    return t;
  }
  const GgufTensor& read(const std::string& name, int64_t rows, int64_t cols) {
    const GgufTensor& t = shaped(name, rows, cols);
    const std::vector<int64_t> dims(t.dims.begin(), t.dims.end());
    fingerprint_tensor(name, "ggml type " + std::to_string(t.type), dims, t.data, t.bytes);
    return t;
  }
  const GgufFile& file_;
  GgufUploader up_;
};

template <class M>
std::unique_ptr<M> load_as(Device& device, const GgufFile& file, std::initializer_list<const char*> archs, const char* what) {
  const std::string arch = file.get_string("general.architecture");
  if (std::find(archs.begin(), archs.end(), arch) == archs.end())
    throw Error(file.path() + ": architecture '" + arch + "' is not " + what);
  std::unique_ptr<Model> model = load_gguf_model(device, file);
  if (!dynamic_cast<M*>(model.get())) throw Error(file.path() + ": architecture '" + arch + "' did not load as " + what);
  return std::unique_ptr<M>(static_cast<M*>(model.release()));
}

}  // namespace

std::unique_ptr<Model> load_gguf_model(Device& device, const GgufFile& file) {
  const ArchDescription* found = nullptr;
  try {
    found = &arch_description(file.get_string("general.architecture"));
  } catch (const Error& e) {
    throw Error(file.path() + ": " + e.what());
  }
  const ArchDescription& arch = *found;
  GgufHyperparameters h(file, arch);
  GgufTensors tensors(device, file);
  return build_model(device, arch, h, tensors);
}

std::unique_ptr<Hyperparameters> gguf_hyperparameters(const GgufFile& file, const ArchDescription& arch) {
  return std::make_unique<GgufHyperparameters>(file, arch);
}

std::unique_ptr<LlamaModel> load_llama_gguf(Device& device, const GgufFile& file) {
  return load_as<LlamaModel>(device, file, {"llama", "qwen2"}, "a Llama-family model (llama, qwen2)");
}

std::unique_ptr<Gpt2Model> load_gpt2_gguf(Device& device, const GgufFile& file) { return load_as<Gpt2Model>(device, file, {"gpt2"}, "gpt2"); }

std::unique_ptr<ChatGlmModel> load_chatglm_gguf(Device& device, const GgufFile& file) {
  return load_as<ChatGlmModel>(device, file, {"chatglm6b"}, "chatglm6b");
}

}  // namespace vkllm
