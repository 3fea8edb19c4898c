#pragma once
// A model's chat template applied as transformers' apply_chat_template does: the Jinja source
// (Vocab::chat_template) rendered with `messages` (OpenAI's shape: role, content and whatever
// else the caller passes, such as tool_calls), bos_token and eos_token as text,
// add_generation_prompt and `tools` where given. The prompt's ids are the rendered text with
// control tokens parsed and nothing added: the template writes BOS itself.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "host/jinja/template.h"
#include "host/tokenizer.h"

namespace vkllm {

class ChatTemplate {
 public:
  // Error naming the problem where the tokenizer has no template (base models) or it does not parse.
  explicit ChatTemplate(const Tokenizer& tokenizer);

  // Error (a jinja::TemplateError) for messages that are not a list of objects with a string
  // role, and where the template refuses them (raise_exception: "roles must alternate").
  std::string render(const nlohmann::ordered_json& messages, bool add_generation_prompt = true,
                     const nlohmann::ordered_json& tools = nullptr) const;
  std::vector<int32_t> encode(const nlohmann::ordered_json& messages, bool add_generation_prompt = true,
                              const nlohmann::ordered_json& tools = nullptr) const;

 private:
  const Tokenizer& tokenizer_;
  jinja::Template template_;
  std::string bos_, eos_;
};

}  // namespace vkllm
