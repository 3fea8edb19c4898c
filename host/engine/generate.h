#pragma once
// The generation loop shared by the CLI and (later) a server: prompt, then sample and decode
// one token at a time until the token budget, an end-of-generation token or a stop string.
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
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

// on_text receives each piece of text as it becomes final (whole UTF-8 characters, never part
// of a stop string); on_token every sampled id. Either may be empty. The session must have room
// for the prompt and max_tokens more; that is checked before any work. The last generated token
// is not decoded (nothing would read its logits): a caller continuing the session feeds it next.
GenerateResult generate(Session& session, const Tokenizer* tokenizer, std::span<const int32_t> prompt, const GenerateOptions& options,
                        const std::function<void(std::string_view)>& on_text = {},
                        const std::function<void(int32_t)>& on_token = {});

}  // namespace vkllm
