#include "host/tokenizer/tokenizer_json.h"

#include <algorithm>
#include <climits>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "host/json_file.h"
#include "host/json_reader.h"
#include "runtime/error.h"

namespace vkllm {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Reads the pieces of a tokenizer.json, naming the file and the field (e.g.
// "pre_tokenizer.pretokenizers[1].behavior") in every error.
class Fields {
 public:
  explicit Fields(std::string file) : file_(std::move(file)) {}

  [[noreturn]] void fail(const std::string& path, const std::string& what) const { throw Error(file_ + ": " + path + " " + what); }

  const json& at(const json& j, const std::string& path, const char* key) const {
    if (!j.is_object() || !j.contains(key)) fail(path + "." + key, "is missing");
    return j[key];
  }
  std::string string(const json& j, const std::string& path, const char* key) const {
    const json& v = at(j, path, key);
    if (!v.is_string()) fail(path + "." + key, "is not a string");
    return v.get<std::string>();
  }
  bool boolean(const json& j, const std::string& path, const char* key, bool fallback) const {
    if (!j.contains(key) || j[key].is_null()) return fallback;
    if (!j[key].is_boolean()) fail(path + "." + key, "is not true or false");
    return j[key].get<bool>();
  }
  // {"String": "..."} or {"Regex": "..."}: the text and whether it is a regular expression.
  std::pair<std::string, bool> pattern(const json& j, const std::string& path) const {
    const json& p = at(j, path, "pattern");
    if (p.is_object() && p.contains("String") && p["String"].is_string()) return {p["String"].get<std::string>(), false};
    if (p.is_object() && p.contains("Regex") && p["Regex"].is_string()) return {p["Regex"].get<std::string>(), true};
    fail(path + ".pattern", "is neither {\"String\": ...} nor {\"Regex\": ...}");
  }
  [[noreturn]] void unsupported(const std::string& path, const std::string& type, const char* supported) const {
    fail(path + ".type", "'" + type + "' is not supported (supported: " + supported + ")");
  }

  void normalizer(const json& j, const std::string& path, std::vector<NormalizerStep>& out) const {
    if (j.is_null()) return;
    const std::string type = string(j, path, "type");
    using K = NormalizerStep::Kind;
    if (type == "Sequence") {
      const json& list = at(j, path, "normalizers");
      for (size_t i = 0; i < list.size(); ++i) normalizer(list[i], path + ".normalizers[" + std::to_string(i) + "]", out);
    } else if (type == "NFC" || type == "NFD" || type == "NFKC" || type == "NFKD" || type == "Lowercase") {
      out.push_back({type == "NFC" ? K::NFC : type == "NFD" ? K::NFD : type == "NFKC" ? K::NFKC : type == "NFKD" ? K::NFKD : K::Lowercase});
    } else if (type == "Strip") {
      NormalizerStep s{K::Strip};
      s.strip_left = boolean(j, path, "strip_left", true);
      s.strip_right = boolean(j, path, "strip_right", true);
      out.push_back(s);
    } else if (type == "Replace") {
      auto [text, regex] = pattern(j, path);
      out.push_back(NormalizerStep::replace(std::move(text), string(j, path, "content"), regex));
    } else if (type == "Prepend") {
      out.push_back(NormalizerStep::prepend(string(j, path, "prepend")));
    } else if (type == "Precompiled") {
      if (j.contains("precompiled_charsmap") && j["precompiled_charsmap"].is_null()) return;  // no rules
      const std::string what = file_ + ": " + path + ".precompiled_charsmap";
      out.push_back(NormalizerStep::precompiled(
          std::make_shared<PrecompiledCharsmap>(base64_decode(string(j, path, "precompiled_charsmap"), what),
                                                PrecompiledCharsmap::Matching::PerGrapheme, what)));
    } else {
      unsupported(path, type, "Sequence, NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Precompiled");
    }
  }

  void pre_tokenizer(const json& j, const std::string& path, std::vector<PreTokenizerStep>& out) const {
    if (j.is_null()) return;
    const std::string type = string(j, path, "type");
    using K = PreTokenizerStep::Kind;
    if (type == "Sequence") {
      const json& list = at(j, path, "pretokenizers");
      for (size_t i = 0; i < list.size(); ++i) pre_tokenizer(list[i], path + ".pretokenizers[" + std::to_string(i) + "]", out);
    } else if (type == "Split") {
      auto [text, regex] = pattern(j, path);
      out.push_back(PreTokenizerStep::split_on(std::move(text), regex, behavior(j, path), boolean(j, path, "invert", false)));
    } else if (type == "ByteLevel") {
      out.push_back(PreTokenizerStep::byte_level(boolean(j, path, "add_prefix_space", true), boolean(j, path, "use_regex", true)));
    } else if (type == "Digits") {
      const bool each = boolean(j, path, "individual_digits", false);
      out.push_back(PreTokenizerStep::split_on(R"(\p{N})", true, each ? SplitBehavior::Isolated : SplitBehavior::Contiguous));
    } else if (type == "Metaspace") {
      PreTokenizerStep s{K::Metaspace};
      s.replacement = j.contains("replacement") ? string(j, path, "replacement") : "\xe2\x96\x81";
      if (s.replacement.empty()) fail(path + ".replacement", "is empty");
      if (j.contains("prepend_scheme")) {
        const std::string scheme = string(j, path, "prepend_scheme");
        if (scheme == "always") s.prepend = PreTokenizerStep::Prepend::Always;
        else if (scheme == "first") s.prepend = PreTokenizerStep::Prepend::First;
        else if (scheme == "never") s.prepend = PreTokenizerStep::Prepend::Never;
        else fail(path + ".prepend_scheme", "'" + scheme + "' is not always, first or never");
      } else {  // files before prepend_scheme
        s.prepend = boolean(j, path, "add_prefix_space", true) ? PreTokenizerStep::Prepend::Always : PreTokenizerStep::Prepend::Never;
      }
      s.split = boolean(j, path, "split", true);
      out.push_back(s);
    } else {
      unsupported(path, type, "Sequence, Split, ByteLevel, Digits, Metaspace");
    }
  }

  SplitBehavior behavior(const json& j, const std::string& path) const {
    const std::string b = string(j, path, "behavior");
    if (b == "Removed") return SplitBehavior::Removed;
    if (b == "Isolated") return SplitBehavior::Isolated;
    if (b == "MergedWithPrevious") return SplitBehavior::MergedWithPrevious;
    if (b == "MergedWithNext") return SplitBehavior::MergedWithNext;
    if (b == "Contiguous") return SplitBehavior::Contiguous;
    fail(path + ".behavior", "'" + b + "' is not Removed, Isolated, MergedWithPrevious, MergedWithNext or Contiguous");
  }

  // The special tokens the post-processor puts around a single text: (before, after).
  void post_processor(const json& j, const std::string& path, std::vector<std::string>& before, std::vector<std::string>& after) const {
    if (j.is_null()) return;
    const std::string type = string(j, path, "type");
    if (type == "Sequence") {
      const json& list = at(j, path, "processors");
      for (size_t i = 0; i < list.size(); ++i) post_processor(list[i], path + ".processors[" + std::to_string(i) + "]", before, after);
    } else if (type == "TemplateProcessing") {
      const json& single = at(j, path, "single");
      const json& specials = j.value("special_tokens", json::object());
      bool text_seen = false;
      for (size_t i = 0; i < single.size(); ++i) {
        const std::string item = path + ".single[" + std::to_string(i) + "]";
        if (single[i].contains("Sequence")) {
          text_seen = true;
          continue;
        }
        const std::string name = string(at(single[i], item, "SpecialToken"), item + ".SpecialToken", "id");
        std::vector<std::string> tokens{name};
        if (specials.contains(name) && specials[name].contains("tokens")) tokens = specials[name]["tokens"].get<std::vector<std::string>>();
        auto& side = text_seen ? after : before;
        side.insert(side.end(), tokens.begin(), tokens.end());
      }
    } else if (type == "BertProcessing" || type == "RobertaProcessing") {
      before.push_back(at(j, path, "cls").at(0).get<std::string>());
      after.push_back(at(j, path, "sep").at(0).get<std::string>());
    } else if (type != "ByteLevel") {  // ByteLevel only trims offsets
      unsupported(path, type, "Sequence, TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel");
    }
  }

 private:
  std::string file_;
};

// The chat template: chat_template.jinja (transformers 4.43+ writes it beside the config),
// else tokenizer_config.json's chat_template, a string or a list of named templates of which
// "default" is the one apply_chat_template uses.
std::string chat_template_of(const std::string& dir, const json& config) {
  const fs::path file = fs::path(dir) / "chat_template.jinja";
  if (fs::exists(file)) {
    std::ifstream in(file, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
  }
  const json t = config.contains("chat_template") ? config["chat_template"] : json();
  if (t.is_string()) return t.get<std::string>();
  if (t.is_array())
    for (const json& named : t)
      if (named.is_object() && named.value("name", "") == "default" && named.contains("template") && named["template"].is_string())
        return named["template"].get<std::string>();
  return {};
}

// A token named in tokenizer_config.json: a string or {"content": ...}.
std::string token_text(const json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_object() && j.contains("content")) return j["content"].get<std::string>();
  return {};
}

struct AddedToken {
  int32_t id = -1;
  std::string content;
  bool special = false;
  TextTokenOptions options;
};

}  // namespace

Vocab vocab_from_tokenizer_json(const std::string& dir) {
  const fs::path path = fs::path(dir) / "tokenizer.json";
  const std::string where = path.string();
  const std::string text = read_text_file(where);
  const Fields fields(where);

  // The file is read in one pass with the pull reader: the model's vocabulary and merges (most
  // of a large file) without building a DOM; the small pipeline pieces as nlohmann::json.
  Vocab v;
  json normalizer, pre_tokenizer, post_processor;
  std::string model_type;
  json unk_token, dropout;
  std::string continuing_subword_prefix, end_of_word_suffix;
  std::vector<AddedToken> added;
  std::vector<std::pair<std::string, int32_t>> vocab;
  bool has_vocab = false, has_merges = false;
  std::optional<int64_t> unk_id;  // Unigram's unknown token
  JsonReader r(text, where);
  auto subtree = [&](const char* name) {  // a small piece, as a DOM
    const std::string_view raw = r.raw();
    try {
      return json::parse(raw);
    } catch (const json::exception& e) {
      fields.fail(name, std::string("is not valid JSON (") + e.what() + ")");
    }
  };
  auto bool_field = [&](const char* name) {
    if (r.peek() != JsonReader::Type::Boolean) r.fail(std::string("model.") + name + " is not true or false");
    return r.boolean();
  };
  r.object([&](std::string_view key) {
    if (key == "normalizer") {
      normalizer = subtree("normalizer");
    } else if (key == "pre_tokenizer") {
      pre_tokenizer = subtree("pre_tokenizer");
    } else if (key == "post_processor") {
      post_processor = subtree("post_processor");
    } else if (key == "added_tokens") {
      r.array([&] {
        AddedToken a;
        r.object([&](std::string_view field) {
          if (field == "id") a.id = int32_t(std::clamp<int64_t>(r.integer(), -1, INT32_MAX));
          else if (field == "content") a.content = r.string();
          else if (field == "special") a.special = r.boolean();
          else if (field == "lstrip") a.options.lstrip = r.boolean();
          else if (field == "rstrip") a.options.rstrip = r.boolean();
          else if (field == "single_word") a.options.single_word = r.boolean();
          else if (field == "normalized") a.options.normalized = r.boolean();
          else r.skip();
        });
        if (a.id < 0 || a.content.empty()) r.fail("added_tokens[" + std::to_string(added.size()) + "] needs an id and a content");
        added.push_back(std::move(a));
      });
    } else if (key == "model") {
      r.object([&](std::string_view field) {
        if (field == "type") {
          model_type = r.string();
        } else if (field == "vocab" && r.peek() == JsonReader::Type::Object) {  // other models' vocabularies are lists
          has_vocab = true;
          r.object([&](std::string_view token) {
            const int64_t id = r.integer();
            if (id < 0 || id >= (int64_t(1) << 31)) r.fail("model.vocab['" + std::string(token) + "'] has the id " + std::to_string(id));
            vocab.emplace_back(std::string(token), int32_t(id));
          });
        } else if (field == "vocab" && r.peek() == JsonReader::Type::Array) {  // Unigram: [[piece, score], ...]
          has_vocab = true;
          r.array([&] {
            const std::string at = "model.vocab[" + std::to_string(vocab.size()) + "]";
            if (r.peek() != JsonReader::Type::Array) r.fail(at + " is not [piece, score]");
            std::string piece;
            int parts = 0;
            r.array([&] {
              if (parts == 0) piece = r.string();
              else if (parts == 1 && r.peek() == JsonReader::Type::Number) v.scores.push_back(float(r.number()));
              else if (parts == 1) r.fail(at + " has a score that is not a number");
              else r.fail(at + " has more than a piece and a score");
              ++parts;
            });
            if (parts != 2) r.fail(at + " is not [piece, score]");
            vocab.emplace_back(std::move(piece), int32_t(vocab.size()));
          });
        } else if (field == "unk_id") {
          if (!r.null()) unk_id = r.integer();
        } else if (field == "merges") {
          has_merges = true;
          r.array([&] {
            if (r.peek() == JsonReader::Type::Array) {  // ["left", "right"]
              std::string left;
              int parts = 0;
              r.array([&] {
                if (parts == 0) left = r.string();
                else if (parts == 1) v.merges.emplace_back(std::move(left), std::string(r.string()));
                else r.fail("model.merges[" + std::to_string(v.merges.size()) + "] has more than two parts");
                ++parts;
              });
              if (parts != 2) r.fail("model.merges[" + std::to_string(v.merges.size()) + "] does not have two parts");
            } else {  // "left right": a piece may itself be a space, the separator follows it
              const std::string_view m = r.string();
              const size_t space = m.find(' ', 1);
              if (space == std::string_view::npos) r.fail("model.merges entry '" + std::string(m) + "' has no separating space");
              v.merges.emplace_back(std::string(m.substr(0, space)), std::string(m.substr(space + 1)));
            }
          });
        } else if (field == "unk_token") {
          unk_token = subtree("model.unk_token");
        } else if (field == "dropout") {
          dropout = subtree("model.dropout");
        } else if (field == "byte_fallback") {
          v.byte_fallback = bool_field("byte_fallback");
        } else if (field == "fuse_unk") {
          v.fuse_unk = bool_field("fuse_unk");
        } else if (field == "ignore_merges") {
          v.ignore_merges = bool_field("ignore_merges");
        } else if (field == "continuing_subword_prefix" || field == "end_of_word_suffix") {
          std::string& target = field == "continuing_subword_prefix" ? continuing_subword_prefix : end_of_word_suffix;
          if (!r.null()) target = r.string();
        } else {
          r.skip();
        }
      });
    } else {
      r.skip();
    }
  });
  r.end();

  const bool unigram = model_type == "Unigram";
  if (model_type != "BPE" && !unigram) fields.fail("model.type", "'" + model_type + "' is not supported (BPE and Unigram are)");
  if (unigram) {
    v.model = TokenizerModel::Unigram;
    v.fuse_unk = true;  // as Hugging Face's Unigram always does
    if (!has_vocab || v.scores.size() != vocab.size()) fields.fail("model.vocab", "is missing or not a list of [piece, score]");
  } else if (!has_vocab || !has_merges) {
    fields.fail(has_vocab ? "model.merges" : "model.vocab", has_vocab ? "is missing" : "is missing or not an object of token -> id");
  }
  if (!dropout.is_null() && !(dropout.is_number() && dropout.get<double>() == 0))
    fields.fail("model.dropout", "is set: BPE dropout makes tokenization random, which inference does not want");
  if (!continuing_subword_prefix.empty()) fields.fail("model.continuing_subword_prefix", "'" + continuing_subword_prefix + "' is not supported");
  if (!end_of_word_suffix.empty()) fields.fail("model.end_of_word_suffix", "'" + end_of_word_suffix + "' is not supported");
  fields.normalizer(normalizer, "normalizer", v.normalizer);
  fields.pre_tokenizer(pre_tokenizer, "pre_tokenizer", v.pre_tokenizer);
  bool byte_level = false;
  for (const auto& s : v.pre_tokenizer) byte_level = byte_level || s.kind == PreTokenizerStep::Kind::ByteLevel;
  v.kind = byte_level ? TokenizerKind::BytePairs : TokenizerKind::Spm;

  // Ids: the model's vocabulary plus added tokens (which may extend it); no id past their count,
  // so a corrupt id cannot ask for a huge table.
  const size_t max_ids = vocab.size() + added.size();
  for (const auto& [token, id] : vocab)
    if (size_t(id) >= max_ids) fields.fail("model.vocab['" + token + "']", "has the id " + std::to_string(id) + ", past the " + std::to_string(max_ids) + " tokens");
  for (const AddedToken& a : added)
    if (size_t(a.id) >= max_ids) fields.fail("added_tokens", "give '" + a.content + "' the id " + std::to_string(a.id) + ", past the " + std::to_string(max_ids) + " tokens");
  for (auto& [token, id] : vocab) {
    if (size_t(id) >= v.tokens.size()) v.tokens.resize(size_t(id) + 1);
    v.tokens[size_t(id)] = std::move(token);
  }
  v.types.assign(v.tokens.size(), TokenType::Normal);
  for (size_t i = 0; i < v.tokens.size(); ++i) {
    const std::string& t = v.tokens[i];
    if (t.empty()) v.types[i] = TokenType::Unused;
    else if (!byte_level && t.size() == 6 && t.starts_with("<0x") && t.ends_with(">")) v.types[i] = TokenType::Byte;
  }
  // An added token whose text the model's vocabulary has takes the model's id, as in Hugging
  // Face: one pass over the vocabulary for the (few) added tokens whose given id holds another text.
  std::map<std::string_view, int32_t> model_id;
  for (const AddedToken& a : added)
    if (size_t(a.id) >= v.tokens.size() || v.tokens[size_t(a.id)] != a.content) model_id.emplace(a.content, -1);
  if (!model_id.empty())
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (auto it = model_id.find(v.tokens[i]); it != model_id.end() && it->second < 0) it->second = int32_t(i);
  for (const AddedToken& a : added) {
    auto it = model_id.find(a.content);
    const int32_t id = it != model_id.end() && it->second >= 0 ? it->second : a.id;
    if (size_t(id) >= v.tokens.size()) {
      v.tokens.resize(size_t(id) + 1);
      v.types.resize(size_t(id) + 1, TokenType::Unused);
    }
    v.tokens[size_t(id)] = a.content;
    v.types[size_t(id)] = a.special ? TokenType::Control : TokenType::UserDefined;
    const TextTokenOptions& o = a.options;
    if (o.lstrip || o.rstrip || o.single_word || o.normalized) v.text_token_options[id] = o;
  }
  auto id_of = [&](const std::string& token) -> int32_t {
    if (token.empty()) return -1;
    for (size_t i = 0; i < v.tokens.size(); ++i)
      if (v.tokens[i] == token) return int32_t(i);
    return -1;
  };
  if (unk_token.is_string()) v.unk = id_of(unk_token.get<std::string>());
  if (unk_id) {
    if (*unk_id < 0 || *unk_id >= int64_t(vocab.size())) fields.fail("model.unk_id", std::to_string(*unk_id) + " is not in the vocabulary");
    v.unk = int32_t(*unk_id);
    v.types[size_t(*unk_id)] = TokenType::Unknown;
  }
  if (unigram) v.scores.resize(v.tokens.size(), 0.0f);  // added tokens past the model's vocabulary

  // BOS/EOS: tokenizer_config.json names them and whether to add them; without its say, the
  // post-processor's special tokens around the text decide.
  std::vector<std::string> before, after;
  fields.post_processor(post_processor, "post_processor", before, after);
  if (before.size() > 1 || after.size() > 1) fields.fail("post_processor", "puts several special tokens on one side of the text, which is not supported");
  v.add_bos = !before.empty();
  v.add_eos = !after.empty();
  if (!before.empty()) v.bos = id_of(before[0]);
  if (!after.empty()) v.eos = id_of(after[0]);
  const fs::path config_path = fs::path(dir) / "tokenizer_config.json";
  const json config = fs::exists(config_path) ? read_json_file(config_path.string()) : json::object();
  if (config.contains("bos_token") && !token_text(config["bos_token"]).empty()) v.bos = id_of(token_text(config["bos_token"]));
  if (config.contains("eos_token") && !token_text(config["eos_token"]).empty()) v.eos = id_of(token_text(config["eos_token"]));
  if (config.contains("add_bos_token") && config["add_bos_token"].is_boolean()) v.add_bos = config["add_bos_token"].get<bool>();
  if (config.contains("add_eos_token") && config["add_eos_token"].is_boolean()) v.add_eos = config["add_eos_token"].get<bool>();
  v.chat_template = chat_template_of(dir, config);
  const fs::path generation = fs::path(dir) / "generation_config.json";
  if (fs::exists(generation)) {
    const json g = read_json_file(generation.string());
    if (g.contains("eos_token_id")) {
      const json& e = g["eos_token_id"];
      for (const auto& id : e.is_array() ? e : json::array({e}))
        if (id.is_number_integer()) v.end_of_generation.push_back(id.get<int32_t>());
    }
  }
  v.validate(where);
  return v;
}

}  // namespace vkllm
