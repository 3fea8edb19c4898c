#include "host/tokenizer/pretokenize.h"

#include <algorithm>
#include <map>

#include "host/tokenizer/byte_alphabet.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

// GPT-2's split: contractions, letters, digits, other symbols, each with one optional leading
// space; runs of whitespace keep their last space for the following word.
constexpr const char* kGpt2 = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";
// Llama 3 and Qwen2: case-insensitive contractions, a non-letter may lead a word, newlines are
// kept apart; Llama 3 groups up to three digits, Qwen2 splits every digit.
constexpr const char* kLlama3 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kQwen2 =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
constexpr const char* kDigit = R"(\p{N})";
// DeepSeek: newlines apart, letters or punctuation with one optional leading space, CJK runs,
// digits. DeepSeek LLM spells its letters (the cased ones) and punctuation as explicit ranges;
// the letters that NFC would change are escapes, so no editor can rewrite them.
constexpr const char* kNewline = "[\r\n]";
constexpr const char* kCjk = "[一-龥ࠀ-一가-퟿]+";
constexpr const char* kDeepseekLlmLetters =
    "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-\\x{1F7D}ᾀ-ᾴᾶ-ᾼ\\x{1FBE}ῂ-ῄῆ-ῌῐ-\\x{1FD3}ῖ-\\x{1FDB}ῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤ\\x{2126}ℨ\\x{212A}-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+";
constexpr const char* kDeepseekLlmPunctuation = "\\s?[!-/:-~！-／：-～‘-‟　-。]+";
// Falcon: runs of punctuation and a few symbols first, GPT-2's split, then digits in threes.
constexpr const char* kFalconPunctuation = R"([\p{P}\$\+<=>\^~\|`]+)";

const std::map<std::string, std::vector<const char*>>& table() {
  static const std::map<std::string, std::vector<const char*>> t{
      {"default", {kGpt2}},
      {"gpt-2", {kGpt2}},
      {"gpt2", {kGpt2}},
      {"phi-2", {kGpt2}},
      {"olmo", {kGpt2}},
      {"mpt", {kGpt2}},
      {"llama3", {kLlama3}},
      {"llama-bpe", {kLlama3}},
      {"llama-v3", {kLlama3}},
      {"smaug-bpe", {kLlama3}},
      {"qwen2", {kQwen2}},
      {"deepseek-r1-qwen", {kQwen2}},
      {"smollm", {kDigit, kGpt2}},
      {"starcoder", {kDigit, kGpt2}},
      {"refact", {kDigit, kGpt2}},
      {"deepseek-coder", {kNewline, R"(\s?\p{L}+)", R"(\s?\p{P}+)", kCjk, kDigit}},
      {"deepseek-llm", {kNewline, kDeepseekLlmLetters, kDeepseekLlmPunctuation, R"(\s+$)", kCjk, R"(\p{N}+)"}},
      {"falcon", {kFalconPunctuation, kGpt2, "[0-9][0-9][0-9]"}},
  };
  return t;
}

struct Piece {
  std::string text;
  bool first;  // begins the whole input
};

struct Span {
  size_t begin, end;
  bool delimiter;
};

// Hugging Face's split behaviours: delimiter spans removed, kept alone or joined to a neighbour.
std::vector<Span> apply_behavior(std::vector<Span> spans, SplitBehavior behavior) {
  std::vector<Span> kept;
  bool previous_delimiter = false;
  switch (behavior) {
    case SplitBehavior::Isolated:
      return spans;
    case SplitBehavior::Removed:
      for (const Span& s : spans)
        if (!s.delimiter) kept.push_back(s);
      break;
    case SplitBehavior::Contiguous:
      for (const Span& s : spans) {
        if (s.delimiter == previous_delimiter && !kept.empty())
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_delimiter = s.delimiter;
      }
      break;
    case SplitBehavior::MergedWithPrevious:
      for (const Span& s : spans) {
        if (s.delimiter && !previous_delimiter && !kept.empty())
          kept.back().end = s.end;
        else
          kept.push_back(s);
        previous_delimiter = s.delimiter;
      }
      break;
    case SplitBehavior::MergedWithNext:
      for (auto s = spans.rbegin(); s != spans.rend(); ++s) {
        if (s->delimiter && !previous_delimiter && !kept.empty())
          kept.back().begin = s->begin;
        else
          kept.push_back(*s);
        previous_delimiter = s->delimiter;
      }
      std::reverse(kept.begin(), kept.end());
      break;
  }
  return kept;
}

// The piece as alternating text and delimiters (what the pattern matches, or with `invert` what
// it does not), then split by the behaviour; empty pieces are dropped.
void split_piece(const Piece& piece, const Pattern& pattern, SplitBehavior behavior, bool invert, std::vector<Piece>& out) {
  std::vector<Span> spans;
  size_t at = 0;
  for (const auto& [begin, end] : pattern.find_all(piece.text)) {
    if (at != begin) spans.push_back({at, begin, invert});
    spans.push_back({begin, end, !invert});
    at = end;
  }
  if (at != piece.text.size()) spans.push_back({at, piece.text.size(), invert});
  for (const Span& s : apply_behavior(std::move(spans), behavior))
    if (s.end > s.begin) out.push_back({piece.text.substr(s.begin, s.end - s.begin), piece.first && s.begin == 0});
}

void replace_all(std::string& text, std::string_view from, std::string_view to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) text.replace(at, from.size(), to);
}

}  // namespace

PreTokenizerStep PreTokenizerStep::split_on(std::string pattern, bool regex, SplitBehavior behavior, bool invert) {
  PreTokenizerStep s{Kind::Split};
  s.pattern = std::move(pattern);
  s.regex = regex;
  s.behavior = behavior;
  s.invert = invert;
  return s;
}

PreTokenizerStep PreTokenizerStep::byte_level(bool add_prefix_space, bool use_regex) {
  PreTokenizerStep s{Kind::ByteLevel};
  s.add_prefix_space = add_prefix_space;
  s.use_regex = use_regex;
  return s;
}

std::vector<PreTokenizerStep> llama_cpp_pre_tokenizer(const std::string& name) {
  auto it = table().find(name);
  if (it == table().end()) {
    std::string known;
    for (const auto& n : llama_cpp_pre_tokenizer_names()) known.append(known.empty() ? "" : ", ").append(n);
    throw Error("unknown pre-tokenizer '" + name + "' (tokenizer.ggml.pre); known: " + known);
  }
  std::vector<PreTokenizerStep> steps;
  for (const char* expression : it->second) steps.push_back(PreTokenizerStep::split_on(expression, true, SplitBehavior::Isolated));
  steps.push_back(PreTokenizerStep::byte_level(false, false));
  return steps;
}

std::vector<std::string> llama_cpp_pre_tokenizer_names() {
  std::vector<std::string> names;
  for (const auto& [n, _] : table()) names.push_back(n);
  return names;
}

PreTokenizer::PreTokenizer(const std::vector<PreTokenizerStep>& steps, const std::string& source) {
  for (const PreTokenizerStep& s : steps) {
    switch (s.kind) {
      case PreTokenizerStep::Kind::Split:
        steps_.push_back({s, s.regex ? Pattern::regex(s.pattern, source) : Pattern::literal(s.pattern)});
        break;
      case PreTokenizerStep::Kind::ByteLevel:
        steps_.push_back({s, s.use_regex ? Pattern::regex(kGpt2, source) : Pattern::literal("")});
        break;
      case PreTokenizerStep::Kind::Metaspace:
        steps_.push_back({s, Pattern::literal(s.replacement)});
        break;
    }
  }
}

std::vector<std::string> PreTokenizer::split(std::string_view text, bool at_input_start) const {
  std::vector<Piece> pieces;
  if (!text.empty()) pieces.push_back({std::string(text), at_input_start});
  for (const Compiled& c : steps_) {
    const PreTokenizerStep& s = c.step;
    std::vector<Piece> next;
    for (Piece& piece : pieces) {
      switch (s.kind) {
        case PreTokenizerStep::Kind::Split:
          split_piece(piece, c.pattern, s.behavior, s.invert, next);
          break;
        case PreTokenizerStep::Kind::ByteLevel:
          if (s.add_prefix_space && piece.text.front() != ' ') piece.text.insert(0, 1, ' ');
          if (s.use_regex)
            split_piece(piece, c.pattern, SplitBehavior::Isolated, false, next);
          else
            next.push_back(std::move(piece));
          break;
        case PreTokenizerStep::Kind::Metaspace:
          replace_all(piece.text, " ", s.replacement);
          if (!piece.text.starts_with(s.replacement) &&
              (s.prepend == PreTokenizerStep::Prepend::Always || (s.prepend == PreTokenizerStep::Prepend::First && piece.first)))
            piece.text.insert(0, s.replacement);
          if (s.split)
            split_piece(piece, c.pattern, SplitBehavior::MergedWithNext, false, next);
          else
            next.push_back(std::move(piece));
          break;
      }
    }
    if (s.kind == PreTokenizerStep::Kind::ByteLevel) {
      const ByteAlphabet& alphabet = byte_alphabet();
      for (Piece& piece : next) {
        std::string mapped;
        for (unsigned char b : piece.text) mapped.append(alphabet.of_byte[b]);
        piece.text = std::move(mapped);
      }
    }
    pieces = std::move(next);
  }
  std::vector<std::string> out;
  out.reserve(pieces.size());
  for (Piece& p : pieces) out.push_back(std::move(p.text));
  return out;
}

}  // namespace vkllm
