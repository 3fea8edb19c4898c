#pragma once
// Normalizers, as Hugging Face tokenizer.json files define them: each step rewrites the text
// between added tokens before it is pre-tokenized. A GGUF SentencePiece vocabulary is the
// same pipeline (an optional "▁" prefix, spaces replaced by "▁").
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "host/tokenizer/charsmap.h"
#include "host/tokenizer/pattern.h"

namespace vkllm {

struct NormalizerStep {
  enum class Kind { NFC, NFD, NFKC, NFKD, Lowercase, Strip, Replace, Prepend, Precompiled };
  Kind kind;
  std::string pattern;  // Replace: what is replaced (a literal, or a regular expression)
  bool regex = false;
  std::string content;  // Replace: the replacement; Prepend: the prefix of non-empty text
  bool strip_left = false, strip_right = false;  // Strip: whitespace at either end
  std::shared_ptr<const PrecompiledCharsmap> charsmap;  // Precompiled: SentencePiece's rules

  static NormalizerStep replace(std::string pattern, std::string content, bool regex = false);
  static NormalizerStep prepend(std::string prefix);
  static NormalizerStep precompiled(std::shared_ptr<const PrecompiledCharsmap> charsmap);
};

class Normalizer {
 public:
  // Error naming `source` when a regular expression does not compile.
  Normalizer(const std::vector<NormalizerStep>& steps, const std::string& source);
  std::string apply(std::string_view text) const;

 private:
  struct Compiled {
    NormalizerStep step;
    Pattern pattern;
  };
  std::vector<Compiled> steps_;
};

}  // namespace vkllm
