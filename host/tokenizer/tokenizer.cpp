#include "host/tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <iterator>

#include "host/tokenizer/byte_alphabet.h"
#include "host/tokenizer/merge.h"
#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

namespace {

constexpr std::string_view kSpmSpace = "\xe2\x96\x81";  // "▁" stands for a space in SentencePiece pieces

std::string merge_key(std::string_view left, std::string_view right) {
  std::string key = std::to_string(left.size());
  key.append(":").append(left).append(right);
  return key;
}

uint32_t decode_codepoint(std::string_view s, size_t& i) {
  const uint8_t lead = uint8_t(s[i]);
  const size_t len = std::min(utf8::sequence_length(lead), s.size() - i);
  uint32_t cp = len == 1 ? lead : lead & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
  i += len;
  return cp;
}

}  // namespace

void Vocab::validate(const std::string& source) const {
  const int32_t n = size();
  require(n > 0, source + ": the vocabulary has no tokens");
  require(int32_t(types.size()) == n, source + ": " + std::to_string(types.size()) + " token types for " + std::to_string(n) + " tokens");
  require(scores.empty() || int32_t(scores.size()) == n,
              source + ": " + std::to_string(scores.size()) + " token scores for " + std::to_string(n) + " tokens");
  require(kind != TokenizerKind::BytePairs || !merges.empty(), source + ": a byte-pair vocabulary without merges");
  require(kind != TokenizerKind::Spm || !scores.empty() || !merges.empty(),
              source + ": a SentencePiece vocabulary needs scores or merges");
  auto check = [&](int32_t id, const char* what) {
    require(id >= -1 && id < n, source + ": " + what + " token id " + std::to_string(id) + " is not in the vocabulary of " + std::to_string(n));
  };
  check(bos, "BOS");
  check(eos, "EOS");
  check(unk, "unknown");
  for (int32_t id : end_of_generation) check(id, "end-of-generation");
}

Tokenizer::Tokenizer(Vocab vocab) : vocab_(std::move(vocab)) {
  vocab_.validate("tokenizer");
  ids_.reserve(vocab_.tokens.size());
  for (int32_t id = 0; id < vocab_.size(); ++id) {
    ids_.emplace(vocab_.tokens[id], id);  // the first of duplicate pieces wins
    const TokenType t = vocab_.types[id];
    if ((t == TokenType::Control || t == TokenType::UserDefined || t == TokenType::Unknown) && !vocab_.tokens[id].empty())
      specials_.push_back(id);
  }
  std::stable_sort(specials_.begin(), specials_.end(),
                   [&](int32_t a, int32_t b) { return vocab_.tokens[a].size() > vocab_.tokens[b].size(); });
  std::copy_if(specials_.begin(), specials_.end(), std::back_inserter(user_defined_),
               [&](int32_t id) { return vocab_.types[id] == TokenType::UserDefined; });
  for (size_t r = 0; r < vocab_.merges.size(); ++r)
    merge_ranks_.emplace(merge_key(vocab_.merges[r].first, vocab_.merges[r].second), int32_t(r));
  if (vocab_.kind == TokenizerKind::BytePairs)
    pre_ = vocab_.pre_patterns.empty() ? std::make_unique<PreTokenizer>(vocab_.pre)
                                       : std::make_unique<PreTokenizer>(vocab_.pre_patterns, "tokenizer pre-tokenizer");
}

int32_t Tokenizer::find(std::string_view text) const {
  auto it = ids_.find(std::string(text));
  return it == ids_.end() ? -1 : it->second;
}

std::optional<double> Tokenizer::merge_rank(std::string_view left, std::string_view right) const {
  if (!merge_ranks_.empty()) {
    auto it = merge_ranks_.find(merge_key(left, right));
    if (it == merge_ranks_.end()) return std::nullopt;
    return double(it->second);
  }
  std::string merged(left);
  merged.append(right);
  const int32_t id = find(merged);
  if (id < 0) return std::nullopt;
  return -double(vocab_.scores[id]);  // higher score merges first
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
  // Split out special tokens written in the text (longest match at the earliest position);
  // the text between them is tokenized normally.
  bool after_special = true;  // SentencePiece puts its "▁" before text that starts a fragment
  size_t start = 0;
  const std::vector<int32_t>& matched = parse_special ? specials_ : user_defined_;
  for (size_t i = 0; i < text.size();) {
    int32_t hit = -1;
    for (int32_t id : matched) {
      const std::string& s = vocab_.tokens[id];
      if (text.compare(i, s.size(), s) == 0) {
        hit = id;
        break;
      }
    }
    if (hit < 0) {
      ++i;
      continue;
    }
    if (i > start) encode_text(text.substr(start, i - start), after_special, out);
    out.push_back(hit);
    after_special = true;
    i += vocab_.tokens[hit].size();
    start = i;
  }
  if (start < text.size()) encode_text(text.substr(start), after_special, out);
  if (add_special && vocab_.add_eos && vocab_.eos >= 0) out.push_back(vocab_.eos);
  return out;
}

void Tokenizer::encode_text(std::string_view text, bool after_special, std::vector<int32_t>& out) const {
  if (vocab_.kind == TokenizerKind::Spm)
    encode_spm(text, vocab_.add_space_prefix && after_special, out);
  else
    encode_byte_pairs(text, out);
}

void Tokenizer::encode_spm(std::string_view text, bool space_prefix, std::vector<int32_t>& out) const {
  std::string escaped;
  if (space_prefix) escaped.append(kSpmSpace);
  for (char c : text) {
    if (c == ' ')
      escaped.append(kSpmSpace);
    else
      escaped.push_back(c);
  }
  const auto symbols = merge_pairs(escaped, [&](std::string_view l, std::string_view r) { return merge_rank(l, r); });
  for (std::string_view s : symbols) {
    if (const int32_t id = find(s); id >= 0) {
      out.push_back(id);
      continue;
    }
    for (unsigned char b : s) {  // byte fallback: <0xAB> pieces, else the unknown token
      char name[8];
      std::snprintf(name, sizeof name, "<0x%02X>", b);
      const int32_t id = find(name);
      if (id < 0 && vocab_.unk < 0) throw Error("tokenizer: no piece, byte piece or unknown token for the text '" + std::string(s) + "'");
      out.push_back(id >= 0 ? id : vocab_.unk);
    }
  }
}

void Tokenizer::encode_byte_pairs(std::string_view text, std::vector<int32_t>& out) const {
  const ByteAlphabet& alphabet = byte_alphabet();
  for (std::string_view word : pre_->split(text)) {
    std::string mapped;
    for (unsigned char b : word) mapped.append(alphabet.of_byte[b]);
    if (vocab_.ignore_merges) {
      if (const int32_t id = find(mapped); id >= 0) {
        out.push_back(id);
        continue;
      }
    }
    for (std::string_view s : merge_pairs(mapped, [&](std::string_view l, std::string_view r) { return merge_rank(l, r); })) {
      if (const int32_t id = find(s); id >= 0) {
        out.push_back(id);
        continue;
      }
      for (size_t i = 0; i < s.size();) {  // a vocabulary missing a byte character: per character, else unknown
        const size_t len = std::min(utf8::sequence_length(uint8_t(s[i])), s.size() - i);
        const int32_t id = find(s.substr(i, len));
        if (id < 0 && vocab_.unk < 0) throw Error("tokenizer: no token for the text '" + std::string(word) + "'");
        out.push_back(id >= 0 ? id : vocab_.unk);
        i += len;
      }
    }
  }
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
    const uint32_t cp = decode_codepoint(text, i);
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
