// Tokenizers against llama.cpp's own vocabulary tests, plus the properties generation relies on:
// decoding inverts encoding and streamed text never splits a character.
#include <algorithm>
#include <fstream>
#include <sstream>

#include "host/tokenizer.h"
#include "host/tokenizer/utf8.h"
#include "models/gguf_vocab.h"
#include "tests/test_util.h"

using namespace vkllm;

// Host code only: runs once, not in every device configuration.
TEST_SUITE_BEGIN("host");

namespace {

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The .inp file separates test strings with lines "__ggml_vocab_test__"; the .out file has one
// line of expected ids per string.
void check_vocab_test(const std::string& rel) {
  CAPTURE(rel);
  auto gguf = test::shared_data(rel);
  if (!gguf) return;
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::string inp = read_all(*gguf + ".inp");
  std::vector<std::string> inputs;
  for (size_t at = 0, next; (next = inp.find(sep, at)) != std::string::npos; at = next + sep.size())
    inputs.push_back(inp.substr(at, next - at));
  std::istringstream out(read_all(*gguf + ".out"));
  GgufFile file(*gguf);
  const Tokenizer tok(*vocab_from_gguf(file));
  int lines = 0;
  for (const std::string& text : inputs) {
    std::string line;
    REQUIRE(std::getline(out, line));
    std::vector<int32_t> expected;
    std::istringstream ids(line);
    for (int32_t id; ids >> id;) expected.push_back(id);
    const auto got = tok.encode(text, /*add_special=*/false);
    CAPTURE(text);
    CHECK(got == expected);
    // Decoding gives the text back (SentencePiece adds one leading space).
    std::string decoded = tok.decode(got);
    const auto& steps = tok.vocab().normalizer;
    if (std::any_of(steps.begin(), steps.end(), [](const auto& s) { return s.kind == NormalizerStep::Kind::Prepend; }) && !decoded.empty())
      decoded.erase(0, 1);
    CHECK(decoded == text);
    ++lines;
  }
  CHECK(lines == 46);
}

}  // namespace

// llama.cpp's tokenizer suite (expected ids from Hugging Face): SentencePiece vocabularies
// (llama-spm, phi-3) and byte-level ones with each named pre-tokenizer.
TEST_CASE("every vocabulary of llama.cpp's tokenizer suite reproduces its expected ids") {
  for (const char* name : {"llama-spm", "phi-3", "gpt-2", "mpt", "refact", "starcoder", "deepseek-coder", "deepseek-llm", "falcon"})
    check_vocab_test(std::string("tokenizers/ggml-vocab-") + name + ".gguf");
}

TEST_CASE("BOS and special tokens") {
  auto path = test::shared_data("tokenizers/ggml-vocab-llama-spm.gguf");
  if (!path) return;
  GgufFile file(*path);
  const Tokenizer tok(*vocab_from_gguf(file));
  const auto plain = tok.encode("Hello", true);
  REQUIRE(!plain.empty());
  CHECK(plain.front() == 1);
  CHECK(tok.encode("Hello", false) == std::vector<int32_t>(plain.begin() + 1, plain.end()));
  // "</s>" in the text is literal text unless special tokens are parsed.
  const auto literal = tok.encode("a</s>", false, false);
  const auto special = tok.encode("a</s>", false, true);
  CHECK(special.back() == 2);
  CHECK(std::find(literal.begin(), literal.end(), 2) == literal.end());
  CHECK(tok.ends_generation(2));
  CHECK(tok.piece(2).empty());
  CHECK(tok.piece(2, true) == "</s>");
  CHECK_THROWS_WITH_AS(tok.piece(32000), doctest::Contains("token id 32000 is out of range"), Error);
}

TEST_CASE("streamed text holds back a character split across tokens") {
  auto path = test::shared_data("tokenizers/ggml-vocab-gpt-2.gguf");
  if (!path) return;
  GgufFile file(*path);
  const Tokenizer tok(*vocab_from_gguf(file));
  const std::string text = "🦙 llamas and 😶‍🌫️ clouds, naïve façade";
  const auto ids = tok.encode(text, false);
  StreamDecoder stream(tok);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string part = stream.push(id);
    CHECK(utf8::complete_prefix(part) == part.size());  // never half a character
    streamed += part;
  }
  streamed += stream.flush();
  CHECK(streamed == text);
  // The llama emoji takes several byte tokens: the first alone yields nothing.
  StreamDecoder first(tok);
  CHECK(first.push(ids[0]).empty());
}

TEST_CASE("an unknown pre-tokenizer or a bad special id is refused by name") {
  CHECK_THROWS_WITH_AS(llama_cpp_pre_tokenizer("no-such-split"), doctest::Contains("unknown pre-tokenizer 'no-such-split'"), Error);
  Vocab v;
  v.kind = TokenizerKind::BytePairs;
  v.tokens = {"a", "b", "ab"};
  v.types.assign(3, TokenType::Normal);
  v.merges = {{"a", "b"}};
  v.pre_tokenizer = llama_cpp_pre_tokenizer("gpt-2");
  const Tokenizer tok(v);
  CHECK(tok.encode("abab", false) == std::vector<int32_t>{2, 2});
  v.bos = 7;
  CHECK_THROWS_WITH_AS(Tokenizer{v}, doctest::Contains("BOS token id 7 is not in the vocabulary"), Error);
}

TEST_SUITE_END();
