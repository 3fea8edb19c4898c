// `vkllm logits`: float32 logits for every position of a token sequence, as .npy.
#include <cstdio>
#include <memory>

#include "host/npy.h"
#include "host/engine/session.h"
#include "models/load.h"
#include "runtime/device.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

struct LogitsOptions {
  std::string model, tokens, encoder_tokens, output;
};

// Positions 0..n-1 in one prefill (the decoder's, after encoding --encoder-tokens).
void write_logits(const LogitsOptions& o) {
  Device dev;
  LoadedModel loaded = load_model(dev, o.model);
  const bool encoder = loaded.model->encoder_decoder();
  if (!encoder && !o.encoder_tokens.empty()) throw Error(loaded.model->arch() + " is a decoder-only model: it takes no --encoder-tokens");
  if (encoder && o.encoder_tokens.empty()) throw Error(loaded.model->arch() + " is an encoder-decoder model: give its input as --encoder-tokens");
  const auto tokens = parse_tokens(o.tokens);
  const int context = loaded.model->context();
  if (int64_t(tokens.size()) > context)
    throw Error("context overflow: " + std::to_string(tokens.size()) + " tokens exceed the model's context of " + std::to_string(context));
  const auto input = encoder ? parse_tokens(o.encoder_tokens) : std::vector<int32_t>();
  Session session(*loaded.model, {.context = int64_t(tokens.size()), .encoder_context = int64_t(input.size())});
  if (encoder) session.encode(input);
  const auto logits = session.decode(tokens);
  write_npy_f32(o.output, {int64_t(tokens.size()), session.vocab()}, logits);
  std::fprintf(stderr, "wrote %s: %zu x %d logits\n", o.output.c_str(), tokens.size(), session.vocab());
}

}  // namespace

Command add_logits(CLI::App& app) {
  auto o = std::make_shared<LogitsOptions>();
  auto* sub = app.add_subcommand("logits", "float32 logits [n_tokens, n_vocab] for every position, as .npy");
  sub->add_option("-m,--model", o->model, "GGUF file or llama2.c checkpoint")->required();
  sub->add_option("--tokens", o->tokens, "comma-separated token ids, e.g. 1,2,3 (encoder-decoder models: the decoder's)")->required();
  sub->add_option("--encoder-tokens", o->encoder_tokens, "encoder-decoder models: the encoder's input, comma-separated ids");
  sub->add_option("-o,--output", o->output, "output .npy file")->required();
  return {sub, [o] { write_logits(*o); }};
}

}  // namespace vkllm::cli
