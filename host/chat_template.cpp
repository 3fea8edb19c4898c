#include "host/chat_template.h"

#include "runtime/error.h"

namespace vkllm {

namespace {

jinja::Template parse_template(const Tokenizer& t) {
  if (t.vocab().chat_template.empty())
    throw Error("the model has no chat template (tokenizer.chat_template, or chat_template in tokenizer_config.json): a base model takes plain prompts");
  try {
    return jinja::Template(t.vocab().chat_template);
  } catch (const jinja::TemplateError& e) {
    throw jinja::TemplateError(std::string("the model's chat template: ") + e.what());
  }
}

std::string token_text(const Tokenizer& t, int32_t id) { return id >= 0 && id < t.size() ? t.piece(id, true) : ""; }

}  // namespace

ChatTemplate::ChatTemplate(const Tokenizer& tokenizer)
    : tokenizer_(tokenizer), template_(parse_template(tokenizer)), bos_(token_text(tokenizer, tokenizer.vocab().bos)),
      eos_(token_text(tokenizer, tokenizer.vocab().eos)) {}

std::string ChatTemplate::render(const nlohmann::ordered_json& messages, bool add_generation_prompt, const nlohmann::ordered_json& tools) const {
  if (!messages.is_array() || messages.empty()) throw jinja::TemplateError("chat: messages must be a non-empty list");
  for (size_t i = 0; i < messages.size(); ++i)
    if (!messages[i].is_object() || !messages[i].contains("role") || !messages[i]["role"].is_string())
      throw jinja::TemplateError("chat: message " + std::to_string(i) + " needs a string 'role'");
  jinja::Object variables;
  variables.set("messages", jinja::from_json(messages));
  variables.set("bos_token", bos_);
  variables.set("eos_token", eos_);
  variables.set("add_generation_prompt", add_generation_prompt);
  if (!tools.is_null()) variables.set("tools", jinja::from_json(tools));
  return template_.render(variables);
}

std::vector<int32_t> ChatTemplate::encode(const nlohmann::ordered_json& messages, bool add_generation_prompt,
                                          const nlohmann::ordered_json& tools) const {
  return tokenizer_.encode(render(messages, add_generation_prompt, tools), false, true);
}

}  // namespace vkllm
