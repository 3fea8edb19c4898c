#include "host/json_reader.h"

#include <algorithm>
#include <charconv>
#include <cstring>

#include "host/tokenizer/utf8.h"
#include "runtime/error.h"

namespace vkllm {

namespace {
constexpr int kMaxDepth = 256;  // deeper input is refused rather than allowed to exhaust the stack
}

JsonReader::JsonReader(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

void JsonReader::fail(const std::string& what) const {
  const size_t line = 1 + size_t(std::count(text_.begin(), text_.begin() + std::min(at_, text_.size()), '\n'));
  throw Error(source_ + ": not valid JSON at line " + std::to_string(line) + " (byte " + std::to_string(at_) + "): " + what);
}

void JsonReader::whitespace() {
  while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t')) ++at_;
}

void JsonReader::expect(char c) {
  whitespace();
  if (at_ >= text_.size() || text_[at_] != c) fail(std::string("expected '") + c + "'");
  ++at_;
}

JsonReader::Type JsonReader::peek() {
  whitespace();
  if (at_ >= text_.size()) fail("unexpected end of text");
  switch (text_[at_]) {
    case 'n': return Type::Null;
    case 't':
    case 'f': return Type::Boolean;
    case '"': return Type::String;
    case '[': return Type::Array;
    case '{': return Type::Object;
    default:
      if (text_[at_] == '-' || (text_[at_] >= '0' && text_[at_] <= '9')) return Type::Number;
      fail(std::string("unexpected character '") + text_[at_] + "'");
  }
}

bool JsonReader::open(char open, char close) {
  expect(open);
  whitespace();
  if (at_ < text_.size() && text_[at_] == close) {
    ++at_;
    return false;
  }
  return true;
}

bool JsonReader::next(char close) {
  whitespace();
  if (at_ < text_.size() && text_[at_] == ',') {
    ++at_;
    return true;
  }
  expect(close);
  return false;
}

std::string_view JsonReader::member_name() {
  whitespace();
  if (at_ >= text_.size() || text_[at_] != '"') fail("expected a member name");
  const std::string_view key = read_string(key_scratch_);
  expect(':');
  return key;
}

std::string_view JsonReader::string() {
  if (peek() != Type::String) fail("expected a string");
  return read_string(value_scratch_);
}

std::string_view JsonReader::read_string(std::string& scratch) {
  ++at_;  // the opening quote
  const size_t start = at_;
  // Fast path: up to the closing quote without escapes, the text itself.
  while (at_ < text_.size() && text_[at_] != '"' && text_[at_] != '\\') {
    if (uint8_t(text_[at_]) < 0x20) fail("a control character in a string");
    ++at_;
  }
  if (at_ >= text_.size()) fail("unterminated string");
  if (text_[at_] == '"') return text_.substr(start, at_++ - start);
  scratch.assign(text_.substr(start, at_ - start));
  auto hex4 = [&]() -> uint32_t {
    if (at_ + 4 > text_.size()) fail("a truncated \\u escape");
    uint32_t v = 0;
    const auto r = std::from_chars(text_.data() + at_, text_.data() + at_ + 4, v, 16);
    if (r.ptr != text_.data() + at_ + 4) fail("a \\u escape without four hex digits");
    at_ += 4;
    return v;
  };
  while (at_ < text_.size() && text_[at_] != '"') {
    const char c = text_[at_++];
    if (uint8_t(c) < 0x20) fail("a control character in a string");
    if (c != '\\') {
      scratch.push_back(c);
      continue;
    }
    if (at_ >= text_.size()) break;
    switch (const char e = text_[at_++]) {
      case '"': scratch.push_back('"'); break;
      case '\\': scratch.push_back('\\'); break;
      case '/': scratch.push_back('/'); break;
      case 'b': scratch.push_back('\b'); break;
      case 'f': scratch.push_back('\f'); break;
      case 'n': scratch.push_back('\n'); break;
      case 'r': scratch.push_back('\r'); break;
      case 't': scratch.push_back('\t'); break;
      case 'u': {
        uint32_t cp = hex4();
        if (cp >= 0xDC00 && cp <= 0xDFFF) fail("a lone low surrogate in a \\u escape");
        if (cp >= 0xD800 && cp <= 0xDBFF) {
          if (at_ + 2 > text_.size() || text_[at_] != '\\' || text_[at_ + 1] != 'u') fail("a high surrogate without its low half");
          at_ += 2;
          const uint32_t low = hex4();
          if (low < 0xDC00 || low > 0xDFFF) fail("a high surrogate without its low half");
          cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        utf8::append(scratch, cp);
        break;
      }
      default: fail(std::string("an unknown escape '\\") + e + "'");
    }
  }
  if (at_ >= text_.size()) fail("unterminated string");
  ++at_;
  return scratch;
}

int64_t JsonReader::integer() {
  if (peek() != Type::Number) fail("expected an integer");
  int64_t v = 0;
  const auto r = std::from_chars(text_.data() + at_, text_.data() + text_.size(), v);
  if (r.ec != std::errc()) fail("expected an integer");
  if (r.ptr < text_.data() + text_.size() && (*r.ptr == '.' || *r.ptr == 'e' || *r.ptr == 'E')) fail("expected an integer, not a fraction");
  at_ = size_t(r.ptr - text_.data());
  return v;
}

double JsonReader::number() {
  if (peek() != Type::Number) fail("expected a number");
  double v = 0;
  const auto r = std::from_chars(text_.data() + at_, text_.data() + text_.size(), v);
  if (r.ec != std::errc()) fail("expected a number");
  at_ = size_t(r.ptr - text_.data());
  return v;
}

bool JsonReader::boolean() {
  if (peek() == Type::Boolean) {
    if (text_.substr(at_, 4) == "true") return at_ += 4, true;
    if (text_.substr(at_, 5) == "false") return at_ += 5, false;
  }
  fail("expected true or false");
}

bool JsonReader::null() {
  if (peek() != Type::Null) return false;
  if (text_.substr(at_, 4) != "null") fail("expected null");
  at_ += 4;
  return true;
}

void JsonReader::skip() { skip_value(0); }

void JsonReader::skip_value(int depth) {
  if (depth > kMaxDepth) fail("nested deeper than " + std::to_string(kMaxDepth) + " levels");
  switch (peek()) {
    case Type::Null: null(); break;
    case Type::Boolean: boolean(); break;
    case Type::Number: number(); break;
    case Type::String: read_string(value_scratch_); break;
    case Type::Array: array([&] { skip_value(depth + 1); }); break;
    case Type::Object: object([&](std::string_view) { skip_value(depth + 1); }); break;
  }
}

std::string_view JsonReader::raw() {
  whitespace();
  const size_t start = at_;
  skip();
  return text_.substr(start, at_ - start);
}

void JsonReader::end() {
  whitespace();
  if (at_ != text_.size()) fail("text after the value");
}

}  // namespace vkllm
