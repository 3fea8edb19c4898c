#pragma once
// Byte-level BPE pre-tokenizers: the regular expressions that split text into words before
// merging, by the name GGUF stores in tokenizer.ggml.pre. Several patterns apply in turn, each
// splitting the pieces the previous one produced; text a pattern does not match stays a piece.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vkllm {

class PreTokenizer {
 public:
  // Error for a name this runtime does not know (the wrong split would give wrong tokens).
  explicit PreTokenizer(const std::string& name);
  // Given patterns (as a tokenizer.json Split holds them); `source` names them in errors.
  PreTokenizer(const std::vector<std::string>& patterns, const std::string& source);
  ~PreTokenizer();
  PreTokenizer(PreTokenizer&&) noexcept;
  PreTokenizer& operator=(PreTokenizer&&) noexcept;

  std::vector<std::string_view> split(std::string_view text) const;
  static std::vector<std::string> known_names();

 private:
  struct Pattern;
  void compile(const std::string& source, const std::string& what);
  std::vector<std::unique_ptr<Pattern>> patterns_;
};

}  // namespace vkllm
