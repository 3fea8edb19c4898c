#include "host/tokenizer/normalizer.h"

#include "host/tokenizer/unicode.h"
#include "host/tokenizer/utf8.h"

namespace vkllm {

NormalizerStep NormalizerStep::replace(std::string pattern, std::string content, bool regex) {
  NormalizerStep s{Kind::Replace};
  s.pattern = std::move(pattern);
  s.content = std::move(content);
  s.regex = regex;
  return s;
}

NormalizerStep NormalizerStep::prepend(std::string prefix) {
  NormalizerStep s{Kind::Prepend};
  s.content = std::move(prefix);
  return s;
}

NormalizerStep NormalizerStep::precompiled(std::shared_ptr<const PrecompiledCharsmap> charsmap) {
  NormalizerStep s{Kind::Precompiled};
  s.charsmap = std::move(charsmap);
  return s;
}

Normalizer::Normalizer(const std::vector<NormalizerStep>& steps, const std::string& source) {
  for (const NormalizerStep& s : steps)
    steps_.push_back({s, s.regex ? Pattern::regex(s.pattern, source) : Pattern::literal(s.pattern)});
}

namespace {

std::string strip(std::string_view text, bool left, bool right) {
  size_t begin = 0, end = text.size();
  if (left)
    for (size_t i = 0; i < end;) {
      size_t next = i;
      if (!unicode::is_whitespace(utf8::decode(text, next))) break;
      begin = i = next;
    }
  if (right)
    while (end > begin) {
      size_t start = 0;
      if (!unicode::is_whitespace(utf8::decode_before(text, end, start))) break;
      end = start;
    }
  return std::string(text.substr(begin, end - begin));
}

std::string replace(std::string_view text, const Pattern& pattern, const std::string& content) {
  std::string out;
  size_t at = 0;
  for (const auto& [begin, end] : pattern.find_all(text)) {
    out.append(text.substr(at, begin - at)).append(content);
    at = end;
  }
  return out.append(text.substr(at));
}

}  // namespace

std::string Normalizer::apply(std::string_view input) const {
  std::string text(input);
  for (const Compiled& c : steps_) {
    const NormalizerStep& s = c.step;
    switch (s.kind) {
      case NormalizerStep::Kind::NFC: text = unicode::normalize(text, unicode::Form::NFC); break;
      case NormalizerStep::Kind::NFD: text = unicode::normalize(text, unicode::Form::NFD); break;
      case NormalizerStep::Kind::NFKC: text = unicode::normalize(text, unicode::Form::NFKC); break;
      case NormalizerStep::Kind::NFKD: text = unicode::normalize(text, unicode::Form::NFKD); break;
      case NormalizerStep::Kind::Lowercase: text = unicode::lowercase(text); break;
      case NormalizerStep::Kind::Strip: text = strip(text, s.strip_left, s.strip_right); break;
      case NormalizerStep::Kind::Replace: text = replace(text, c.pattern, s.content); break;
      case NormalizerStep::Kind::Prepend:
        if (!text.empty()) text.insert(0, s.content);
        break;
      case NormalizerStep::Kind::Precompiled: text = s.charsmap->apply(text); break;
    }
  }
  return text;
}

}  // namespace vkllm
