#pragma once
// The names templates call: filters (x | name), tests (x is name), methods of strings,
// lists and dicts (x.name()), and the global functions. Each throws TemplateError naming
// itself on arguments it cannot take.
#include <string>

#include "host/jinja/value.h"

namespace vkllm::jinja {

// args.positional[0] is the filtered value.
Value apply_filter(const std::string& name, Arguments& args);
// args.positional[0] is the tested value.
bool apply_test(const std::string& name, Arguments& args);
Value call_method(const Value& self, const std::string& name, Arguments& args);
// range, namespace, dict, raise_exception, strftime_now; undefined for other names.
Value global(const std::string& name);

}  // namespace vkllm::jinja
