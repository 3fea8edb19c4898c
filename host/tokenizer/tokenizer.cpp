#include "host/tokenizer.h"

#include <algorithm>
#include <cstdio>

#include "host/tokenizer/byte_alphabet.h"
#include "host/tokenizer/merge.h"
#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";  // "▁" stands for a space in SentencePiece pieces

const Vocab& validated(const Vocab& v) {
  v.validate("tokenizer");
  return v;
}

// Tokens written in the text: control, unknown and user-defined ones, raw or normalized.
std::vector<TextToken> text_tokens(const Vocab& v, const Normalizer& normalizer, bool normalized) {
  std::vector<TextToken> out;
  for (int32_t id = 0; id < v.size(); ++id) {
    const TokenType t = v.types[size_t(id)];
    if (v.tokens[size_t(id)].empty() || (t != TokenType::Control && t != TokenType::UserDefined && t != TokenType::Unknown)) continue;
    auto o = v.text_token_options.find(id);
    const TextTokenOptions options = o == v.text_token_options.end() ? TextTokenOptions{} : o->second;
    if (options.normalized != normalized) continue;
    out.push_back({id, normalized ? normalizer.apply(v.tokens[size_t(id)]) : v.tokens[size_t(id)], t != TokenType::UserDefined,
                   options.lstrip, options.rstrip, options.single_word});
  }
  return out;
}

}  // namespace

void Vocab::validate(const std::string& source) const {
  const int32_t n = size();
  require(n > 0, source + ": the vocabulary has no tokens");
  require(int32_t(types.size()) == n, source + ": " + std::to_string(types.size()) + " token types for " + std::to_string(n) + " tokens");
  require(scores.empty() || int32_t(scores.size()) == n,
          source + ": " + std::to_string(scores.size()) + " token scores for " + std::to_string(n) + " tokens");
  auto check = [&](int32_t id, const char* what) {
    require(id >= -1 && id < n, source + ": " + what + " token id " + std::to_string(id) + " is not in the vocabulary of " + std::to_string(n));
  };
  check(bos, "BOS");
  check(eos, "EOS");
  check(unk, "unknown");
  for (int32_t id : end_of_generation) check(id, "end-of-generation");
  for (const auto& [id, _] : text_token_options) check(id, "added");
}

std::vector<NormalizerStep> sentencepiece_normalizer(bool space_prefix) {
  std::vector<NormalizerStep> steps;
  if (space_prefix) steps.push_back(NormalizerStep::prepend(std::string(kSpmSpace)));
  steps.push_back(NormalizerStep::replace(" ", std::string(kSpmSpace)));
  return steps;
}

Tokenizer::Tokenizer(Vocab vocab)
    : vocab_(std::move(vocab)),
      ids_(validated(vocab_).tokens),
      merges_(vocab_.merges),
      normalizer_(vocab_.normalizer, "tokenizer normalizer"),
      pre_tokenizer_(vocab_.pre_tokenizer, "tokenizer pre-tokenizer"),
      raw_tokens_(text_tokens(vocab_, normalizer_, false)),
      normalized_tokens_(text_tokens(vocab_, normalizer_, true)) {
  if (vocab_.model == TokenizerModel::Unigram) unigram_ = UnigramModel(vocab_);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof name, "<0x%02X>", b);
    byte_ids_[b] = ids_.find(name);
  }
}


void Tokenizer::check_id(int32_t id) const {
  if (id < 0 || id >= vocab_.size())
    throw Error("token id " + std::to_string(id) + " is out of range (vocabulary of " + std::to_string(vocab_.size()) + ")");
}

bool Tokenizer::ends_generation(int32_t id) const {
  return id == vocab_.eos || std::find(vocab_.end_of_generation.begin(), vocab_.end_of_generation.end(), id) != vocab_.end_of_generation.end();
}

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  std::vector<int32_t> out;
  if (add_special && vocab_.add_bos && vocab_.bos >= 0) out.push_back(vocab_.bos);
  for (const auto& s : raw_tokens_.split(text, parse_special)) {
    if (s.id >= 0)
      out.push_back(s.id);
    else
      encode_text(text.substr(s.begin, s.end - s.begin), s.begin == 0, parse_special, out);
  }
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

void Tokenizer::encode_text(std::string_view text, bool at_input_start, bool parse_special, std::vector<int32_t>& out) const {
  const std::string normalized = normalizer_.apply(text);
  for (const auto& s : normalized_tokens_.split(normalized, parse_special)) {
    if (s.id >= 0) {
      out.push_back(s.id);
      continue;
    }
    for (const std::string& piece : pre_tokenizer_.split(std::string_view(normalized).substr(s.begin, s.end - s.begin), at_input_start && s.begin == 0))
      encode_piece(piece, out);
  }
}

void Tokenizer::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  bool after_unknown = false;
  if (vocab_.model == TokenizerModel::Unigram) {
    for (const UnigramToken& t : unigram_.segment(piece, vocab_, ids_)) append_token(t.id, piece.substr(t.begin, t.end - t.begin), after_unknown, out);
    return;
  }
  if (vocab_.ignore_merges)
    if (const int32_t id = ids_.find(piece); id >= 0) {
      out.push_back(id);
      return;
    }
  const auto id_of = [&](std::string_view s) { return ids_.find(s); };
  const auto merge_of = [&](const Symbol& left, const Symbol& right, std::string_view merged) -> std::optional<PairMerge> {
    if (vocab_.merges.empty() && vocab_.scores.empty()) return std::nullopt;  // characters only
    const int32_t id = ids_.find(merged);  // a merge whose result is no token is no merge
    if (id < 0) return std::nullopt;
    if (vocab_.merges.empty()) return PairMerge{-double(vocab_.scores[size_t(id)]), id};  // higher score merges first
    if (left.id < 0 || right.id < 0) return std::nullopt;
    const auto rank = merges_.rank(left.text, right.text, vocab_.merges);
    if (!rank) return std::nullopt;
    return PairMerge{double(*rank), id};
  };
  // Merged symbols always have ids: one without is a single character.
  for (const Symbol& s : merge_pairs(piece, id_of, merge_of)) append_token(s.id, s.text, after_unknown, out);
}

void Tokenizer::append_token(int32_t id, std::string_view character, bool& after_unknown, std::vector<int32_t>& out) const {
  if (id >= 0) {
    out.push_back(id);
    after_unknown = false;
    return;
  }
  encode_unknown(character, after_unknown, out);
  after_unknown = out.back() == vocab_.unk;
}

void Tokenizer::encode_unknown(std::string_view character, bool after_unknown, std::vector<int32_t>& out) const {
  if (vocab_.byte_fallback) {
    bool all = true;
    for (unsigned char b : character) all = all && byte_ids_[b] >= 0;
    if (all) {
      for (unsigned char b : character) out.push_back(byte_ids_[b]);
      return;
    }
  }
  if (vocab_.unk < 0) throw Error("tokenizer: no token, byte token or unknown token for the character '" + std::string(character) + "'");
  if (!(vocab_.fuse_unk && after_unknown)) out.push_back(vocab_.unk);
}

std::string Tokenizer::piece(int32_t id, bool render_special) const {
  check_id(id);
  const std::string& text = vocab_.tokens[id];
  switch (vocab_.types[id]) {
    case TokenType::Control:
    case TokenType::Unknown:
      return render_special ? text : std::string();
    case TokenType::Unused:
      return {};
    case TokenType::UserDefined:
      return text;
    case TokenType::Byte:
      if (text.size() == 6 && text.starts_with("<0x") && text.ends_with(">"))
        return std::string(1, char(std::stoi(text.substr(3, 2), nullptr, 16)));
      return text;
    case TokenType::Normal:
      break;
  }
  std::string out;
  if (vocab_.kind == TokenizerKind::Spm) {
    for (size_t i = 0; i < text.size();) {
      if (text.compare(i, kSpmSpace.size(), kSpmSpace) == 0) {
        out.push_back(' ');
        i += kSpmSpace.size();
      } else {
        out.push_back(text[i++]);
      }
    }
    return out;
  }
  const ByteAlphabet& alphabet = byte_alphabet();
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const uint32_t cp = utf8::decode(text, i);
    auto it = alphabet.byte_of.find(cp);
    if (it != alphabet.byte_of.end())
      out.push_back(char(it->second));
    else
      out.append(text.substr(start, i - start));  // not a byte character: keep it as written
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) out.append(piece(id, render_special));
  return out;
}

std::string StreamDecoder::push(int32_t id) {
  pending_.append(tokenizer_.piece(id));
  const size_t n = utf8::complete_prefix(pending_);
  std::string ready = pending_.substr(0, n);
  pending_.erase(0, n);
  return ready;
}

std::string StreamDecoder::flush() {
  std::string rest;
  rest.swap(pending_);
  return rest;
}

}  // namespace vkllm
