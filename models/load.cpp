#include "models/load.h"

#include <cstring>
#include <filesystem>
#include <fstream>

#include "host/tokenizer/tokenizer_json.h"
#include "models/gguf.h"
#include "models/gguf_vocab.h"
#include "models/gguf_model.h"
#include "models/hf_model.h"
#include "models/llama2c.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

bool is_gguf(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error("cannot open model " + path);
  char magic[4] = {};
  in.read(magic, 4);
  return in.gcount() == 4 && std::memcmp(magic, "GGUF", 4) == 0;
}

}  // namespace

LoadedModel load_model(Device& device, const std::string& path) {
  LoadedModel out;
  if (is_hf_directory(path)) {
    out.model = load_hf_model(device, path);
    if (std::filesystem::exists(std::filesystem::path(path) / "tokenizer.json")) {
      // Embedding tables are often padded past the tokenizer: the extra rows are unused ids.
      Vocab v = vocab_from_tokenizer_json(path);
      const int32_t rows = out.model->vocab();
      if (v.size() > rows)
        throw Error(path + ": the tokenizer has " + std::to_string(v.size()) + " tokens but the embedding only " + std::to_string(rows) + " rows");
      while (v.size() < rows) {
        v.tokens.emplace_back();
        v.types.push_back(TokenType::Unused);
        if (!v.scores.empty()) v.scores.push_back(0.0f);
      }
      out.tokenizer.emplace(std::move(v));
    }
    return out;
  }
  if (!is_gguf(path)) {
    out.model = load_llama2c(device, path);
    return out;
  }
  GgufFile file(path);
  if (auto vocab = vocab_from_gguf(file)) {
    out.tokenizer.emplace(std::move(*vocab));
  }
  out.model = load_gguf_model(device, file);
  if (out.tokenizer && out.tokenizer->size() != out.model->vocab())
    throw Error(path + ": the tokenizer has " + std::to_string(out.tokenizer->size()) + " tokens but the model's embedding has " +
                std::to_string(out.model->vocab()) + " rows");
  return out;
}

Tokenizer load_tokenizer(const std::string& path) {
  const std::filesystem::path p(path);
  if (std::filesystem::is_directory(p) && std::filesystem::exists(p / "tokenizer.json")) return Tokenizer(vocab_from_tokenizer_json(path));
  if (p.filename() == "tokenizer.json" && std::filesystem::is_regular_file(p))
    return Tokenizer(vocab_from_tokenizer_json(p.parent_path().empty() ? "." : p.parent_path().string()));
  if (!is_gguf(path)) throw Error(path + ": neither a GGUF file nor a Hugging Face tokenizer (a directory with tokenizer.json)");
  GgufFile file(path);
  auto vocab = vocab_from_gguf(file);
  if (!vocab) throw Error(path + ": the file has no tokenizer (tokenizer.ggml.model)");
  return Tokenizer(std::move(*vocab));
}

}  // namespace vkllm
