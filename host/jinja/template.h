#pragma once
// A Jinja template engine for the subset chat templates use (Llama 2/3, Qwen, Gemma, Mistral,
// ChatGLM, Phi and the like): text with {{ expressions }}, {% if / for / set / macro %} with
// loop variables, break and continue, namespace(), Python-like string, list and dict methods,
// Jinja's common filters and tests, and transformers' globals (raise_exception,
// strftime_now). It renders as transformers' apply_chat_template does (trim_blocks and
// lstrip_blocks on), which tests check against @huggingface/jinja on real templates.
// Anything outside the subset is a TemplateError naming it, never a silent difference.
#include <memory>
#include <string>
#include <string_view>

#include "host/jinja/value.h"

namespace vkllm::jinja {

struct Node;

class Template {
 public:
  explicit Template(std::string_view source);  // TemplateError on a syntax error, with its line
  ~Template();
  Template(Template&&) noexcept;
  Template& operator=(Template&&) noexcept;

  // The output for these variables (a dict). TemplateError where rendering fails, with the
  // template's line; raise_exception(message) fails with its message.
  std::string render(const Object& variables) const;

 private:
  struct Parsed;
  std::unique_ptr<Parsed> parsed_;
};

}  // namespace vkllm::jinja
