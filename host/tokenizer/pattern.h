#pragma once
// What Hugging Face's Split pre-tokenizer and Replace normalizer look for: a literal string or
// a regular expression (PCRE2 with Unicode properties, standing in for Oniguruma), found left to
// right without overlaps.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vkllm {

class Pattern {
 public:
  // Error naming `source` when a regular expression does not compile.
  static Pattern literal(std::string text);
  static Pattern regex(const std::string& expression, const std::string& source);
  ~Pattern();
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;

  // [begin, end) of every match. An empty match is kept unless it touches the end of the
  // previous match (then the search moves on one character), as Rust's regex iterators do.
  std::vector<std::pair<size_t, size_t>> find_all(std::string_view text) const;

 private:
  Pattern();
  struct Compiled;
  std::string literal_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace vkllm
