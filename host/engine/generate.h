#pragma once
// The generation loop shared by the CLI and the server: prompt, then sample and decode one
// token at a time until the token budget, an end-of-generation token or a stop string.
#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/engine/sampler.h"
#include "host/engine/session.h"
#include "host/tokenizer.h"

namespace vkllm {

struct GenerateOptions {
  int max_tokens = 128;
  SamplerOptions sampling;
  std::vector<std::string> stop;  // generation ends before any of these strings (needs a tokenizer)
  bool stop_at_end_of_generation = true;
  int top_logprobs = -1;  // >= 0: each token's log probability and this many alternatives
  // Runs once the prompt is in the session, before the first token is sampled (`vkllm run
  // --prompt-cache` saves the session there).
  std::function<void()> after_prompt;
};

struct GenerateResult {
  std::vector<int32_t> tokens;  // generated, excluding a final end-of-generation token
  std::string text;             // their text, cut before a stop string
  enum class Stop { MaxTokens, EndOfGeneration, StopString } stop = Stop::MaxTokens;
  double prompt_seconds = 0, generate_seconds = 0;
};

// A token's log probability under the model's distribution (the logits' softmax, before any
// sampler filter), with the most likely alternatives where asked for.
struct TokenLogprob {
  int32_t token = -1;
  float logprob = 0;
  std::vector<std::pair<int32_t, float>> top;  // most likely first
};

// One generation after its prompt, one sampled token at a time: the sampler (its penalties
// over `history`, the tokens before the generation), end-of-generation and stop strings, the
// token budget and the text stream. generate() drives it for one session; a server drives one
// per request. Callers decode each returned token unless the step says the generation is done.
class Generation {
 public:
  Generation(const Tokenizer* tokenizer, std::span<const int32_t> history, const GenerateOptions& options);

  struct Step {
    int32_t token = -1;  // the sampled token (-1: none: the budget was 0 or an end-of-generation token came)
    std::string text;    // text that became final (whole characters, never part of a stop string)
    bool done = false;   // nothing follows: the token is not to be decoded
    std::optional<TokenLogprob> logprob;  // GenerateOptions::top_logprobs >= 0
  };
  Step next(std::span<const float> logits);

  bool done() const { return done_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  GenerateResult::Stop stop() const { return stop_; }

 private:
  GenerateOptions options_;
  const Tokenizer* tokenizer_;
  Sampler sampler_;
  std::optional<StreamDecoder> stream_;
  std::vector<std::string> stops_;
  std::string held_;  // text that may begin a stop string
  std::vector<int32_t> tokens_;
  GenerateResult::Stop stop_ = GenerateResult::Stop::MaxTokens;
  bool done_ = false;
  std::string release(std::string_view piece, bool& stopped);  // through the stop strings
};

// on_text receives each piece of text as it becomes final (whole UTF-8 characters, never part
// of a stop string); on_token every sampled id. Either may be empty. The session must have room
// for the prompt and max_tokens more; that is checked before any work. The last generated token
// is not decoded (nothing would read its logits): a caller continuing the session feeds it next.
GenerateResult generate(Session& session, const Tokenizer* tokenizer, std::span<const int32_t> prompt, const GenerateOptions& options,
                        const std::function<void(std::string_view)>& on_text = {},
                        const std::function<void(int32_t)>& on_token = {});

}  // namespace vkllm
