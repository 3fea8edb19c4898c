#pragma once
// Pre-tokenizers: how text is cut into the pieces a BPE model encodes one by one, as Hugging
// Face tokenizer.json files define them (Split, ByteLevel, Metaspace; Digits is a Split), and
// the named pre-tokenizers of GGUF files (llama.cpp's regular expressions, then ByteLevel).
#include <string>
#include <string_view>
#include <vector>

#include "host/tokenizer/pattern.h"

namespace vkllm {

// What a Split does with the text its pattern matches (the delimiters).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };

struct PreTokenizerStep {
  enum class Kind { Split, ByteLevel, Metaspace };
  enum class Prepend { Always, First, Never };  // Metaspace: where a replacement is put in front
  Kind kind;
  // Split: `pattern` (a literal, or a regular expression) delimits pieces; `invert`: it matches
  // the pieces and the text between them delimits.
  std::string pattern;
  bool regex = false;
  SplitBehavior behavior = SplitBehavior::Isolated;
  bool invert = false;
  // ByteLevel: a space in front of pieces without one, GPT-2's split, then each byte as a
  // character of GPT-2's byte alphabet.
  bool add_prefix_space = false, use_regex = true;
  // Metaspace: spaces become `replacement`, which may be prepended and may start new pieces.
  std::string replacement;
  Prepend prepend = Prepend::Always;
  bool split = true;

  static PreTokenizerStep split_on(std::string pattern, bool regex, SplitBehavior behavior, bool invert = false);
  static PreTokenizerStep byte_level(bool add_prefix_space, bool use_regex);
};

// The pre-tokenizer a GGUF file names in tokenizer.ggml.pre: llama.cpp's regular expressions,
// each isolating what it matches, then the byte alphabet. Error for a name this runtime does
// not know (the wrong split would give wrong tokens).
std::vector<PreTokenizerStep> llama_cpp_pre_tokenizer(const std::string& name);
std::vector<std::string> llama_cpp_pre_tokenizer_names();

class PreTokenizer {
 public:
  // Error naming `source` when a regular expression does not compile.
  PreTokenizer(const std::vector<PreTokenizerStep>& steps, const std::string& source);

  // The pieces of `text`, in order, none empty. `at_input_start`: the text begins the whole
  // input (Metaspace's "first" scheme prepends only there).
  std::vector<std::string> split(std::string_view text, bool at_input_start) const;

 private:
  struct Compiled {
    PreTokenizerStep step;
    Pattern pattern;  // Split: its pattern; ByteLevel: GPT-2's split; Metaspace: the replacement
  };
  std::vector<Compiled> steps_;
};

}  // namespace vkllm
