// Hugging Face tokenizer.json files against the Hugging Face `tokenizers` library: the real
// files of Llama 3, Qwen3, Gemma 3 and Llama 2, variants of them that exercise every
// normalizer, pre-tokenizer and added-token option vkllm implements, and a T5-style Unigram
// tokenizer made for the tests (tests/data/tokenizers/unigram: SentencePiece's precompiled
// rules). The expected ids are in tests/data/tokenizers/expected.json (written by generate.mjs
// there from strings.json and variants.json); the real files are in ../shared/data.
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "host/json_file.h"
#include "host/tokenizer.h"
#include "host/tokenizer/charsmap.h"
#include "host/tokenizer/tokenizer_json.h"
#include "models/gguf.h"
#include "models/gguf_vocab.h"
#include "models/gguf_writer.h"
#include "tests/test_util.h"

using namespace vkllm;
using nlohmann::json;
namespace fs = std::filesystem;

TEST_SUITE_BEGIN("host");

namespace {

std::string ids_text(const std::vector<int32_t>& ids) {
  std::ostringstream s;
  for (int32_t id : ids) s << id << ' ';
  return s.str();
}

// The variant's tokenizer.json as the generator built it: the base file with a JSON merge patch
// and added-token changes, in a temporary directory beside a copy of the base's config.
fs::path variant_dir(const json& spec, const fs::path& base, std::map<std::string, json>& parsed) {
  json& original = parsed[base.string()];
  if (original.is_null()) original = read_json_file((base / "tokenizer.json").string());
  json t = original;
  if (spec.contains("patch")) t.merge_patch(spec["patch"]);
  if (spec.contains("added_tokens")) {
    const json& changes = spec["added_tokens"];
    for (json& token : t["added_tokens"])
      if (changes.contains("update") && changes["update"].contains(token["content"].get<std::string>()))
        token.update(changes["update"][token["content"].get<std::string>()]);
    for (const json& token : changes.value("append", json::array())) t["added_tokens"].push_back(token);
  }
  const fs::path dir = test::temp_path("hf-" + spec["name"].get<std::string>());
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << t.dump();
  fs::copy_file(base / "tokenizer_config.json", dir / "tokenizer_config.json", fs::copy_options::overwrite_existing);
  return dir;
}

}  // namespace

TEST_CASE("tokenizer.json files encode as Hugging Face tokenizers does, with and without special tokens") {
  const fs::path data = fs::path(VKLLM_TEST_DATA) / "tokenizers";
  const json variants = read_json_file((data / "variants.json").string());
  const json expected = read_json_file((data / "expected.json").string());
  std::map<std::string, json> parsed;
  int tokenizers = 0, skipped = 0;
  for (const json& spec : variants["tokenizers"]) {
    const std::string name = spec["name"];
    CAPTURE(name);
    // "local": a tokenizer made for the tests, beside variants.json; "base": a real one in ../shared/data.
    auto base = spec.contains("local") ? std::optional<std::string>((data / spec["local"].get<std::string>()).string())
                                       : test::shared_data("tokenizers/hf/" + spec["base"].get<std::string>());
    if (!base) {
      ++skipped;
      continue;
    }
    const bool modified = spec.contains("patch") || spec.contains("added_tokens");
    const fs::path dir = modified ? variant_dir(spec, *base, parsed) : fs::path(*base);
    const Tokenizer tok(vocab_from_tokenizer_json(dir.string()));
    if (modified) fs::remove_all(dir);
    const json& cases = expected["tokenizers"].at(name);
    CHECK(cases.size() >= 40);
    for (const json& c : cases) {
      const std::string text = c["text"];
      CAPTURE(text);
      CHECK(ids_text(tok.encode(text, false, true)) == ids_text(c["ids"].get<std::vector<int32_t>>()));
      CHECK(ids_text(tok.encode(text, true, true)) == ids_text(c["with_special"].get<std::vector<int32_t>>()));
    }
    ++tokenizers;
  }
  CHECK(tokenizers + skipped == int(variants["tokenizers"].size()));
  CHECK(tokenizers > 0);
}


namespace {

// A small byte-level tokenizer.json with `change` merged into it, in a temporary directory.
fs::path small_tokenizer(const std::string& name, const json& change) {
  json t = {{"model", {{"type", "BPE"}, {"vocab", {{"a", 0}, {"b", 1}, {"ab", 2}, {"\u0120", 3}}}, {"merges", {"a b"}}}},
            {"pre_tokenizer", {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}}},
            {"added_tokens", json::array()}};
  t.merge_patch(change);
  const fs::path dir = test::temp_path(name);
  fs::create_directories(dir);
  std::ofstream(dir / "tokenizer.json") << t.dump();
  return dir;
}

void check_contains(const std::string& message, const std::string& part) {
  CHECK_MESSAGE(message.find(part) != std::string::npos, "expected \"" << part << "\" in \"" << message << "\"");
}

std::string load_error(const std::string& name, const json& change) {
  const fs::path dir = small_tokenizer(name, change);
  std::string message;
  try {
    Tokenizer{vocab_from_tokenizer_json(dir.string())};
  } catch (const Error& e) {
    message = e.what();
  }
  fs::remove_all(dir);
  return message;
}

}  // namespace

TEST_CASE("a tokenizer.json piece vkllm does not implement is refused, naming the exact field") {
  const fs::path ok = small_tokenizer("tokenizer-ok", json::object());
  CHECK(Tokenizer(vocab_from_tokenizer_json(ok.string())).encode("ab a", false) == std::vector<int32_t>{2, 3, 0});
  fs::remove_all(ok);
  const fs::path characters = small_tokenizer("tokenizer-no-merges", {{"model", {{"merges", json::array()}}}});
  CHECK(Tokenizer(vocab_from_tokenizer_json(characters.string())).encode("ab a", false) == std::vector<int32_t>{0, 1, 3, 0});
  fs::remove_all(characters);
  const json nfc = {{"type", "NFC"}};
  check_contains(load_error("t1", {{"normalizer", {{"type", "Sequence"}, {"normalizers", {nfc, {{"type", "BertNormalizer"}}}}}}}), "normalizer.normalizers[1].type 'BertNormalizer' is not supported");
  check_contains(load_error("t2", {{"pre_tokenizer", {{"type", "Sequence"}, {"pretokenizers", {{{"type", "Whitespace"}}}}}}}), "pre_tokenizer.pretokenizers[0].type 'Whitespace' is not supported");
  check_contains(load_error("t3", {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Sideways"}}}}), "pre_tokenizer.behavior 'Sideways' is not Removed, Isolated");
  check_contains(load_error("t4", {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Glob", "*"}}}, {"behavior", "Isolated"}}}}), "pre_tokenizer.pattern is neither");
  check_contains(load_error("t5", {{"pre_tokenizer", {{"type", "Split"}, {"pattern", {{"Regex", "(unclosed"}}}, {"behavior", "Isolated"}}}}), "the regular expression '(unclosed' does not compile");
  check_contains(load_error("t6", {{"model", {{"type", "WordPiece"}}}}), "model.type 'WordPiece' is not supported (BPE and Unigram are)");
  check_contains(load_error("t7", {{"model", {{"dropout", 0.1}}}}), "model.dropout is set");
  check_contains(load_error("t8", {{"model", {{"end_of_word_suffix", "</w>"}}}}), "model.end_of_word_suffix '</w>' is not supported");
  check_contains(load_error("t9", {{"post_processor", {{"type", "TemplateProcessing"}, {"single", {{{"SpecialToken", {{"id", "a"}}}}, {{"SpecialToken", {{"id", "b"}}}}}}}}}), "post_processor puts several special tokens on one side");
  check_contains(load_error("t10", {{"normalizer", {{"type", "Replace"}, {"content", "x"}}}}), "normalizer.pattern is missing");
  auto precompiled = [](const char* base64) { return json{{"normalizer", {{"type", "Precompiled"}, {"precompiled_charsmap", base64}}}}; };
  check_contains(load_error("t11", precompiled("QUJD@A==")), "normalizer.precompiled_charsmap: '@' is not a base64 character");
  check_contains(load_error("t12", precompiled("AAA=")), "normalizer.precompiled_charsmap: the precompiled charsmap is shorter than its header");
  check_contains(load_error("t13", precompiled("6AMAAAAAAAA=")), "the precompiled charsmap's trie size 1000 does not fit its 8 bytes");
  // One unit whose value points past the (empty) strings.
  check_contains(load_error("t14", precompiled("BAAAAAUAAIA=")), "the precompiled charsmap points past its strings");
  check_contains(load_error("t15", {{"model", {{"type", "Unigram"}, {"vocab", json::array({json::array({"a", "x"})})}}}}), "model.vocab[0] has a score that is not a number");
  check_contains(load_error("t16", {{"model", {{"type", "Unigram"}, {"vocab", json::array({json::array({"a", -1.0})})}, {"unk_id", 3}}}}), "model.unk_id 3 is not in the vocabulary");
}

TEST_CASE("a truncated or corrupt tokenizer.json is refused with the line of the problem") {
  const fs::path dir = small_tokenizer("tokenizer-corrupt", json::object());
  const std::string whole = read_text_file((dir / "tokenizer.json").string());
  for (const size_t keep : {size_t(0), size_t(1), whole.size() / 3, whole.size() - 1}) {
    CAPTURE(keep);
    std::ofstream(dir / "tokenizer.json", std::ios::trunc) << whole.substr(0, keep) << "\n";
    CHECK_THROWS_WITH_AS(vocab_from_tokenizer_json(dir.string()), doctest::Contains("not valid JSON at line"), Error);
  }
  std::ofstream(dir / "tokenizer.json", std::ios::trunc) << whole << " trailing";
  CHECK_THROWS_WITH_AS(vocab_from_tokenizer_json(dir.string()), doctest::Contains("text after the value"), Error);
  std::ofstream(dir / "tokenizer.json", std::ios::trunc) << R"({"model": {"type": "BPE", "vocab": {"a": -4}, "merges": []}})";
  CHECK_THROWS_WITH_AS(vocab_from_tokenizer_json(dir.string()), doctest::Contains("model.vocab['a'] has the id -4"), Error);
  std::ofstream(dir / "tokenizer.json", std::ios::trunc) << R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 2000000000}, "merges": []}})";
  CHECK_THROWS_WITH_AS(vocab_from_tokenizer_json(dir.string()), doctest::Contains("model.vocab['b'] has the id 2000000000, past the 2 tokens"), Error);
  fs::remove_all(dir);
}

// The same T5-style vocabulary as llama.cpp writes it to GGUF (tokenizer.ggml.model "t5":
// pieces, scores, types and the precompiled rules as bytes) encodes as its tokenizer.json
// does, except where llama.cpp's longest-first rule matching parts from Hugging Face's
// per-grapheme one: a 7-byte cluster whose first two characters have a rule.
TEST_CASE("a T5 GGUF vocabulary encodes as its tokenizer.json, its rules matched longest first") {
  const fs::path data = fs::path(VKLLM_TEST_DATA) / "tokenizers";
  const json t = read_json_file((data / "unigram" / "tokenizer.json").string());
  std::vector<std::string> tokens;
  std::vector<float> scores;
  for (const json& e : t["model"]["vocab"]) {
    tokens.push_back(e[0].get<std::string>());
    scores.push_back(e[1].get<float>());
  }
  std::vector<int32_t> types(tokens.size(), int32_t(TokenType::Normal));
  types[0] = types[1] = int32_t(TokenType::Control);  // <pad> </s>
  types[2] = int32_t(TokenType::Unknown);
  const std::string blob = base64_decode(t["normalizer"]["normalizers"][0]["precompiled_charsmap"].get<std::string>(), "charsmap");
  GgufWriter w;
  w.set_string("general.architecture", "t5");
  w.set_string("tokenizer.ggml.model", "t5");
  w.set_strings("tokenizer.ggml.tokens", tokens);
  w.set_f32s("tokenizer.ggml.scores", scores);
  w.set_i32s("tokenizer.ggml.token_type", types);
  w.set_u8s("tokenizer.ggml.precompiled_charsmap", std::vector<uint8_t>(blob.begin(), blob.end()));
  w.set_u32("tokenizer.ggml.eos_token_id", 1);
  w.set_u32("tokenizer.ggml.unknown_token_id", 2);
  const std::string path = test::temp_path("t5-vocab.gguf");
  w.write(path);
  auto first = std::make_unique<Tokenizer>(*vocab_from_gguf(GgufFile(path)));
  fs::remove(path);
  const Tokenizer gguf(std::move(*first));  // a tokenizer moves with everything its model reads
  first.reset();
  const Tokenizer hf(vocab_from_tokenizer_json((data / "unigram").string()));
  const json cases = read_json_file((data / "expected.json").string())["tokenizers"].at("unigram-t5");
  const int32_t e = 8, e_acute = 36;  // "e", "é"
  int differ = 0;
  for (const json& c : cases) {
    const std::string text = c["text"];
    CAPTURE(text);
    const auto from_gguf = gguf.encode(text, true, true), from_json = hf.encode(text, true, true);
    CHECK(ids_text(from_json) == ids_text(c["with_special"].get<std::vector<int32_t>>()));
    if (text.starts_with("e\xcc\x81\xcc\x82\xcc\xa3")) {  // e + acute + circumflex + dot below
      ++differ;
      REQUIRE(from_json.size() > 2);
      CHECK(from_json[1] == e);
      CHECK(from_gguf[1] == e_acute);  // SentencePiece's "e + acute" rule, longest first
    } else {
      CHECK(ids_text(from_gguf) == ids_text(from_json));
    }
  }
  CHECK(differ == 1);
}

TEST_SUITE_END();
