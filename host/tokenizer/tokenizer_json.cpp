#include "host/tokenizer/tokenizer_json.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "host/json_file.h"

#include "runtime/error.h"

namespace vkllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {


// Components of a normalizer or pre-tokenizer, flattening "Sequence".
std::vector<json> components(const json& j, const char* list_key) {
  if (j.is_null()) return {};
  if (j.value("type", "") == "Sequence") {
    std::vector<json> out;
    for (const auto& c : j.at(list_key)) {
      auto inner = components(c, list_key);
      out.insert(out.end(), inner.begin(), inner.end());
    }
    return out;
  }
  return {j};
}

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j["content"].get<std::string>();
  return {};
}

}  // namespace

Vocab vocab_from_tokenizer_json(const std::string& dir) {
  const fs::path path = fs::path(dir) / "tokenizer.json";
  const std::string where = path.string();
  const json t = read_json_file(path.string());
  const json& model = t.at("model");
  if (model.value("type", "") != "BPE") throw Error(where + ": model type '" + model.value("type", "") + "' is not supported (BPE is)");

  Vocab v;
  bool byte_level = false, metaspace = false;
  for (const auto& c : components(t.value("pre_tokenizer", json()), "pretokenizers")) {
    const std::string type = c.value("type", "");
    if (type == "ByteLevel") {
      byte_level = true;
      if (c.value("use_regex", true)) v.pre_patterns.push_back(R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)");
    } else if (type == "Split" && c.contains("pattern") && c["pattern"].contains("Regex")) {
      v.pre_patterns.push_back(c["pattern"]["Regex"].get<std::string>());
    } else if (type == "Digits") {
      v.pre_patterns.push_back(c.value("individual_digits", false) ? R"(\p{N})" : R"(\p{N}+)");
    } else if (type == "Metaspace") {
      metaspace = true;
      v.add_space_prefix = c.value("prepend_scheme", std::string("always")) != "never" && c.value("add_prefix_space", true);
    } else {
      throw Error(where + ": pre-tokenizer '" + type + "' is not supported");
    }
  }
  v.kind = byte_level ? TokenizerKind::BytePairs : TokenizerKind::Spm;
  if (!byte_level) {
    // SentencePiece-style: spaces become "▁" (Replace), a "▁" may be prepended (Prepend).
    bool prepends = false;
    for (const auto& c : components(t.value("normalizer", json()), "normalizers")) {
      const std::string type = c.value("type", "");
      if (type == "Prepend") prepends = true;
      else if (type != "Replace" && type != "NFC" && type != "NFKC")
        throw Error(where + ": normalizer '" + type + "' is not supported");
    }
    if (!metaspace) v.add_space_prefix = prepends;
    if (!model.value("byte_fallback", false) && !model.value("unk_token", json()).is_string())
      throw Error(where + ": a SentencePiece-style BPE without byte fallback or an unknown token");
  }

  // Ids: the model's vocabulary plus added tokens (which may extend it).
  const json& vocab = model.at("vocab");
  int32_t n = 0;
  for (const auto& [text, id] : vocab.items()) n = std::max(n, id.get<int32_t>() + 1);
  for (const auto& a : t.value("added_tokens", json::array())) n = std::max(n, a.at("id").get<int32_t>() + 1);
  v.tokens.assign(size_t(n), std::string());
  v.types.assign(size_t(n), TokenType::Unused);
  for (const auto& [text, id] : vocab.items()) {
    const int32_t i = id.get<int32_t>();
    if (i < 0) throw Error(where + ": negative id for '" + text + "'");
    v.tokens[size_t(i)] = text;
    const bool byte = !byte_level && text.size() == 6 && text.starts_with("<0x") && text.ends_with(">");
    v.types[size_t(i)] = byte ? TokenType::Byte : TokenType::Normal;
  }
  for (const auto& a : t.value("added_tokens", json::array())) {
    const int32_t i = a.at("id").get<int32_t>();
    v.tokens[size_t(i)] = a.at("content").get<std::string>();
    v.types[size_t(i)] = a.value("special", false) ? TokenType::Control : TokenType::UserDefined;
  }
  for (const auto& m : model.at("merges")) {
    if (m.is_array() && m.size() == 2) {
      v.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
    } else {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ', 1);
      if (space == std::string::npos) throw Error(where + ": merge '" + s + "' has no separating space");
      v.merges.emplace_back(s.substr(0, space), s.substr(space + 1));
    }
  }
  v.ignore_merges = model.value("ignore_merges", false);
  auto id_of = [&](const std::string& text) -> int32_t {
    for (int32_t i = 0; i < n; ++i)
      if (v.tokens[size_t(i)] == text && !text.empty()) return i;
    return -1;
  };
  if (model.value("unk_token", json()).is_string()) v.unk = id_of(model["unk_token"].get<std::string>());

  // BOS/EOS: tokenizer_config.json names them; without it, a post-processor that puts a special
  // token first means BOS.
  v.add_bos = false;
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  const json config = fs::exists(config_path) ? read_json_file(config_path.string()) : json::object();
  if (config.contains("bos_token")) v.bos = id_of(token_text(config["bos_token"]));
  if (config.contains("eos_token")) v.eos = id_of(token_text(config["eos_token"]));
  const json post = t.value("post_processor", json());
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) {
    v.add_bos = config["add_bos_token"].get<bool>();
  } else {
    for (const auto& c : components(post, "processors")) {
      if (c.value("type", "") != "TemplateProcessing" || !c.contains("single") || c["single"].empty()) continue;
      const json& first = c["single"][0];
      if (first.contains("SpecialToken")) {
        v.add_bos = true;
        const int32_t id = id_of(first["SpecialToken"].value("id", ""));
        if (id >= 0) v.bos = id;
      }
    }
  }
  v.add_eos = config.value("add_eos_token", false) == true;
  const fs::path generation = fs::path(dir) / "generation_config.json";
  if (fs::exists(generation)) {
    const json g = read_json_file(generation.string());
    if (g.contains("eos_token_id")) {
      const json& e = g["eos_token_id"];
      for (const auto& id : e.is_array() ? e : json::array({e}))
        if (id.is_number_integer()) v.end_of_generation.push_back(id.get<int32_t>());
    }
  }
  for (int32_t i = 0; i < n; ++i)  // ids nothing defined: unused, with a placeholder text
    if (v.tokens[size_t(i)].empty() && v.types[size_t(i)] == TokenType::Unused) v.tokens[size_t(i)] = "<unused" + std::to_string(i) + ">";
  v.validate(where);
  return v;
}

}  // namespace vkllm
