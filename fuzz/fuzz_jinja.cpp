// Chat templates: parsing a fuzzed template and rendering it with a conversation.
#include "host/jinja/template.h"

namespace {
const vkllm::jinja::Object& variables() {
  static const vkllm::jinja::Object v = vkllm::jinja::from_json(nlohmann::ordered_json::parse(R"({
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"},
                 {"role": "assistant", "content": "Hello", "tool_calls": [{"function": {"name": "f", "arguments": {"a": 1}}}]}],
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
    "bos_token": "<s>", "eos_token": "</s>", "add_generation_prompt": true})")).object();
  return v;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    vkllm::jinja::Template(std::string_view(reinterpret_cast<const char*>(data), size)).render(variables());
  } catch (const vkllm::jinja::TemplateError&) {
  }
  return 0;
}
