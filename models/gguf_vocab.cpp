#include "models/gguf_vocab.h"

#include <algorithm>
#include <memory>

#include "runtime/error.h"

namespace vkllm {

namespace {

template <typename T>
T element(const GgufFile& f, const std::string& key, const GgufValue& v, size_t i) {
  if constexpr (std::is_same_v<T, std::string>) {
    if (auto s = std::get_if<std::string>(&v.v)) return *s;
  } else {
    if (auto d = std::get_if<double>(&v.v)) return T(*d);
    if (auto u = std::get_if<uint64_t>(&v.v)) return T(*u);
    if (auto s = std::get_if<int64_t>(&v.v)) return T(*s);
  }
  throw Error(f.path() + ": " + key + "[" + std::to_string(i) + "] has the wrong type");
}

template <typename T>
std::vector<T> array_of(const GgufFile& f, const std::string& key) {
  const GgufArray& a = f.get_array(key);
  std::vector<T> out;
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) out.push_back(element<T>(f, key, a[i], i));
  return out;
}

int32_t token_id(const GgufFile& f, const std::string& key) { return f.has(key) ? int32_t(f.get_uint(key)) : -1; }

}  // namespace

std::optional<Vocab> vocab_from_gguf(const GgufFile& f) {
  const std::string model_key = "tokenizer.ggml.model";
  if (!f.has(model_key) || f.get_string(model_key) == "none" || f.get_string(model_key) == "no_vocab") return std::nullopt;
  const std::string model = f.get_string(model_key);
  Vocab v;
  if (model == "llama" || model == "t5")
    v.kind = TokenizerKind::Spm;
  else if (model == "gpt2")
    v.kind = TokenizerKind::BytePairs;
  else
    throw Error(f.path() + ": " + model_key + " '" + model + "' is not supported (known: llama, t5, gpt2)");

  v.tokens = array_of<std::string>(f, "tokenizer.ggml.tokens");
  const size_t n = v.tokens.size();
  if (f.has("tokenizer.ggml.scores")) v.scores = array_of<float>(f, "tokenizer.ggml.scores");
  if (f.has("tokenizer.ggml.token_type")) {
    for (int32_t t : array_of<int32_t>(f, "tokenizer.ggml.token_type")) {
      require(t >= 1 && t <= 6, f.path() + ": tokenizer.ggml.token_type holds the unknown type " + std::to_string(t));
      v.types.push_back(TokenType(t));
    }
  } else {
    v.types.assign(n, TokenType::Normal);
  }
  if (f.has("tokenizer.ggml.merges")) {
    for (const std::string& m : array_of<std::string>(f, "tokenizer.ggml.merges")) {
      const size_t space = m.find(' ', 1);  // a piece may itself be a space; the separator follows it
      require(space != std::string::npos, f.path() + ": tokenizer.ggml.merges entry '" + m + "' has no separating space");
      v.merges.emplace_back(m.substr(0, space), m.substr(space + 1));
    }
  }
  const bool spm = v.kind == TokenizerKind::Spm;
  if (model == "t5") {
    // SentencePiece Unigram, as llama.cpp reads it (the precompiled rules matched longest
    // first) in the pipeline of Hugging Face's T5 tokenizer.json: the rules, runs of spaces as
    // one, then "▁" for spaces and in front of every word.
    v.model = TokenizerModel::Unigram;
    v.fuse_unk = true;
    const std::string charsmap_key = "tokenizer.ggml.precompiled_charsmap";
    if (f.has(charsmap_key)) {
      std::string blob;
      for (int32_t b : array_of<int32_t>(f, charsmap_key)) blob.push_back(char(b));
      v.normalizer.push_back(NormalizerStep::precompiled(
          std::make_shared<PrecompiledCharsmap>(blob, PrecompiledCharsmap::Matching::Longest, f.path() + ": " + charsmap_key)));
    }
    if (f.get_bool("tokenizer.ggml.remove_extra_whitespaces", true)) v.normalizer.push_back(NormalizerStep::replace(" {2,}", " ", true));
    PreTokenizerStep metaspace{PreTokenizerStep::Kind::Metaspace};
    metaspace.replacement = "\xe2\x96\x81";
    metaspace.prepend = f.get_bool("tokenizer.ggml.add_space_prefix", true) ? PreTokenizerStep::Prepend::Always : PreTokenizerStep::Prepend::Never;
    v.pre_tokenizer.push_back(metaspace);
    v.byte_fallback = std::any_of(v.types.begin(), v.types.end(), [](TokenType t) { return t == TokenType::Byte; });
  } else if (spm) {
    v.merges.clear();  // GGUF SentencePiece ranks by score
    v.normalizer = sentencepiece_normalizer(f.get_bool("tokenizer.ggml.add_space_prefix", true));
    v.byte_fallback = true;
  } else {
    const std::string pre = f.has("tokenizer.ggml.pre") ? f.get_string("tokenizer.ggml.pre") : "default";
    try {
      v.pre_tokenizer = llama_cpp_pre_tokenizer(pre);
    } catch (const Error& e) {
      throw Error(f.path() + ": " + e.what());
    }
    v.ignore_merges = pre == "llama3" || pre == "llama-bpe" || pre == "llama-v3";
  }
  v.bos = token_id(f, "tokenizer.ggml.bos_token_id");
  v.eos = token_id(f, "tokenizer.ggml.eos_token_id");
  v.unk = token_id(f, "tokenizer.ggml.unknown_token_id");
  for (const char* key : {"tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
    if (f.has(key)) v.end_of_generation.push_back(token_id(f, key));
  // Chat models end turns with control tokens their metadata does not always name.
  for (const char* text : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>"}) {
    auto it = std::find(v.tokens.begin(), v.tokens.end(), text);
    if (it != v.tokens.end() && v.types[it - v.tokens.begin()] == TokenType::Control) v.end_of_generation.push_back(int32_t(it - v.tokens.begin()));
  }
  v.add_bos = f.get_bool("tokenizer.ggml.add_bos_token", spm && model != "t5");
  v.add_eos = f.get_bool("tokenizer.ggml.add_eos_token", model == "t5");  // T5 ends its input with </s>
  if (f.has("tokenizer.chat_template")) v.chat_template = f.get_string("tokenizer.chat_template");
  v.validate(f.path());
  return v;
}

}  // namespace vkllm
