// `vkllm tokenize`: the token ids of a text, space separated on one line.
#include <cstdio>
#include <memory>

#include "models/load.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

struct TokenizeOptions {
  std::string model, prompt;
  bool no_bos = false, no_special = false;
};

void tokenize(const TokenizeOptions& o) {
  const Tokenizer tokenizer = load_tokenizer(o.model);
  const auto ids = tokenizer.encode(o.prompt, !o.no_bos, !o.no_special);
  std::string line;
  for (int32_t id : ids) line.append(line.empty() ? "" : " ").append(std::to_string(id));
  std::printf("%s\n", line.c_str());
}

}  // namespace

Command add_tokenize(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  auto* sub = app.add_subcommand("tokenize", "print the token ids of a text, space separated");
  sub->add_option("-m,--model", o->model, "GGUF file (a vocabulary-only GGUF is enough), or a Hugging Face directory or tokenizer.json")->required();
  sub->add_option("-p,--prompt", o->prompt, "text to tokenize")->required();
  sub->add_flag("--no-bos", o->no_bos, "no BOS/EOS even where the vocabulary adds them");
  sub->add_flag("--no-special", o->no_special, "treat control tokens written in the text as plain text");
  return {sub, [o] { tokenize(*o); }};
}

}  // namespace vkllm::cli
