// The template engine: Jinja's syntax and Python's semantics on small templates, then real
// chat templates rendered for many conversations and compared with what @huggingface/jinja
// renders (tests/data/chat_templates/expected.json, generated offline), and a model's own
// template applied to a conversation.
#include <algorithm>
#include <fstream>
#include <map>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "host/chat_template.h"
#include "host/jinja/template.h"
#include "models/load.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::jinja;
using vkllm::test::shared_data;
using json = nlohmann::ordered_json;

TEST_SUITE_BEGIN("host");

namespace {

std::string render(const std::string& source, const json& variables = json::object()) {
  return Template(source).render(from_json(variables).object());
}

json read(const std::string& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path);
  return json::parse(in);
}

}  // namespace

TEST_CASE("templates: whitespace control as transformers renders chat templates") {
  // trim_blocks and lstrip_blocks: a block tag alone on its line leaves no trace.
  CHECK(render("  {% if true %}\n    yes\n  {% endif %}\n") == "    yes\n");
  CHECK(render("a  {%- if true -%}  b  {%- endif -%}  c") == "abc");
  CHECK(render("{{ 'x' }}\n{{ 'y' }}") == "x\ny");  // expressions keep their newlines
  CHECK(render("{# c #}\n  {# d #}\nx") == "x");
  CHECK(render("  {%+ if true %}kept{% endif %}") == "  kept");
}

TEST_CASE("templates: expressions follow Python") {
  CHECK(render("{{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ -7 % 3 }} {{ 7 / 2 }} {{ 2 ** 10 }} {{ 4 / 2 }}") == "3 -4 1 2 3.5 1024 2.0");
  CHECK(render("{{ 'abc'[::-1] }} {{ [1,2,3][1:] }} {{ 'hello'[1:3] }} {{ [1,2,3][-1] }} {{ [1,2,3][::2] }}") == "cba [2, 3] el 3 [1, 3]");
  CHECK(render("{{ 1.0 }} {{ 0.1 }} {{ none }} {{ true }} {{ [1, 'a', none] }} {{ {'a': 1} }}") == "1.0 0.1 None True [1, 'a', None] {'a': 1}");
  CHECK(render("{{ 'a' ~ 1 ~ none }}") == "a1None");
  CHECK(render("{{ [1, 2] == [1, 2] }} {{ 1 == 1.0 }} {{ 'a' in 'cat' }} {{ 2 in [1,2] }} {{ 'k' in {'k':1} }} {{ 3 not in [1] }}") ==
        "True True True True True True");
  CHECK(render("{{ 'x' if false }}|{{ 'y' if true else 'z' }}|{{ none or 'd' }}|{{ 0 and 1 }}") == "|y|d|0");
  CHECK(render("{{ 'ab' * 3 }} {{ [1] + [2] }} {{ 'a' 'b' }}") == "ababab [1, 2] ab");
  CHECK(render("{{ x.y }}|{{ x['y'] }}|{{ x is defined }}|{{ nothing is defined }}|{{ nothing | default('d') }}", {{"x", json::object()}}) ==
        "||True|False|d");
}

TEST_CASE("templates: statements, loops and scopes") {
  CHECK(render("{% for a in [1,2,3] %}{{ loop.index }}{{ loop.first }}{{ loop.last }}{{ loop.revindex }},{% endfor %}") ==
        "1TrueFalse3,2FalseFalse2,3FalseTrue1,");
  CHECK(render("{% for a in [] %}x{% else %}empty{% endfor %}") == "empty");
  CHECK(render("{% for a in range(10) if a is odd %}{{ a }}{{ ',' if not loop.last }}{% endfor %}") == "1,3,5,7,9");
  CHECK(render("{% for a in range(5) %}{% if a == 3 %}{% break %}{% endif %}{% if a == 1 %}{% continue %}{% endif %}{{ a }}{% endfor %}") ==
        "02");
  // A for loop's variables stay inside it; a namespace carries values out.
  CHECK(render("{% set x = 1 %}{% for i in [5] %}{% set x = i %}{% endfor %}{{ x }}") == "1");
  CHECK(render("{% set ns = namespace(n=0) %}{% for i in range(4) %}{% set ns.n = ns.n + i %}{% endfor %}{{ ns.n }}") == "6");
  CHECK(render("{% if true %}{% set y = 2 %}{% endif %}{{ y }}") == "2");  // if makes no scope
  CHECK(render("{% for k, v in {'a': 1, 'b': 2}.items() %}{{ k }}={{ v }};{% endfor %}") == "a=1;b=2;");
  CHECK(render("{%- macro f(a, b='B') -%}[{{ a }}{{ b }}]{%- endmacro -%}{{ f(1) }}{{ f(2, b=3) }}") == "[1B][23]");
  CHECK(render("{% set x %}inner {{ 1 }}{% endset %}[{{ x }}]") == "[inner 1]");
  CHECK(render("{% generation %}kept{% endgeneration %}") == "kept");
}

TEST_CASE("templates: filters, tests and methods") {
  CHECK(render("{{ {'a': [1, 2.5, 'x\"y'], 'b': none, 'c': true} | tojson }}") == R"({"a": [1, 2.5, "x\"y"], "b": null, "c": true})");
  CHECK(render("{{ {'a': [1, {'b': 2}]} | tojson(indent=2) }}") == "{\n  \"a\": [\n    1,\n    {\n      \"b\": 2\n    }\n  ]\n}");
  CHECK(render("{{ 'é\\n' | tojson }}") == "\"é\\n\"");
  CHECK(render("{{ [3,1,2] | sort | join(',') }} {{ ['b','a'] | first }} {{ 'abç' | length }} {{ 'abc' | upper }} {{ ' x ' | trim }}") ==
        "1,2,3 b 3 ABC x");
  CHECK(render("{{ {'b':1,'a':2} | dictsort }} {{ {'b':1}.items() | list }} {{ {'a': 1}.get('z', 5) }}") == "[['a', 2], ['b', 1]] [['b', 1]] 5");
  CHECK(render("{{ [{'r':'u','n':1},{'r':'a','n':2}] | selectattr('r', 'equalto', 'u') | map(attribute='n') | list }}") == "[1]");
  CHECK(render("{{ [{'r':'u'},{'r':'a'}] | rejectattr('r', 'equalto', 'u') | list | length }}") == "1");
  CHECK(render("{{ 3.7 | int }} {{ '5' | int + 1 }} {{ 2 | float }} {{ -3 | abs }} {{ 2.567 | round(2) }}") == "3 6 2.0 3 2.57");
  CHECK(render("{{ '  a b  '.strip() }}|{{ 'a,b,,c'.split(',') }}|{{ ' a  b '.split() }}|{{ 'hello world'.title() }}|{{ 'xxaxx'.strip('x') }}") ==
        "a b|['a', 'b', '', 'c']|['a', 'b']|Hello World|a");
  CHECK(render("{{ 'abc'.startswith(('x','a')) }} {{ 'a-b'.replace('-', '+') }} {{ 'a</think>b'.split('</think>')[-1] }}") == "True a+b b");
  CHECK(render("{{ none is none }} {{ 1 is number }} {{ 'a' is string }} {{ [] is iterable }} {{ {} is mapping }} {{ 4 is divisibleby 2 }}") ==
        "True True True True True True");
  CHECK(render("{{ 'line1\\nline2' | indent(2) }}|{{ 'a' | indent(2, first=true) }}") == "line1\n  line2|  a");
}

TEST_CASE("templates: errors name the problem and the line") {
  CHECK_THROWS_WITH_AS(render("{{ raise_exception('Roles must alternate') }}"), doctest::Contains("Roles must alternate"), TemplateError);
  CHECK_THROWS_WITH_AS(render("line one\n{{ x | nosuchfilter }}"), doctest::Contains("template line 2: nosuchfilter: unknown filter"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{% if x %}never closed"), doctest::Contains("missing {% endif %}"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{% raw %}x{% endraw %}"), doctest::Contains("unsupported tag 'raw'"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ 1 + 'a' }}"), doctest::Contains("'+' on integer and string"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ 'unterminated }}"), doctest::Contains("not closed"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ nothing() }}"), doctest::Contains("nothing is undefined, not a function"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{% set x = 1 %}{% set x.y = 2 %}"), doctest::Contains("only a namespace() takes attributes"), TemplateError);
  // A hostile template fails instead of exhausting memory or the stack.
  CHECK_THROWS_WITH_AS(render("{{ range(1000000000) | length }}"), doctest::Contains("too long"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ 'ab' * 100000000000 }}"), doctest::Contains("too long"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}"), doctest::Contains("nested deeper than"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ " + std::string(5000, '(') + "1" + std::string(5000, ')') + " }}"), doctest::Contains("nesting deeper"),
                       TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ " + std::string(5000, '-') + "1 }}"), doctest::Contains("nesting deeper"), TemplateError);
  std::string deep;
  for (int i = 0; i < 300; ++i) deep += "{% if true %}";
  for (int i = 0; i < 300; ++i) deep += "{% endif %}";
  CHECK_THROWS_WITH_AS(render(deep), doctest::Contains("nesting deeper"), TemplateError);
  // Found by fuzz_jinja: a float slice index escaped as std::bad_variant_access.
  CHECK_THROWS_WITH_AS(render("{{ [1, 2, 3][1.5:] }}"), doctest::Contains("slice indices must be integers or None, not float"),
                       TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ 'abc'[:'x'] }}"), doctest::Contains("slice indices must be integers"), TemplateError);
  // A builtin given another type than it reads fails the same way.
  CHECK_THROWS_WITH_AS(render("{{ 2.5 | round('x') }}"), doctest::Contains("expected an integer, not string"), TemplateError);
  CHECK_THROWS_WITH_AS(render("{{ 'a' | indent(1.5) }}"), doctest::Contains("expected an integer, not float"), TemplateError);
}

TEST_CASE("real chat templates render as @huggingface/jinja renders them") {
  const std::string dir = std::string(VKLLM_TEST_DATA) + "/chat_templates";
  const json expected = read(dir + "/expected.json");
  struct Source {
    std::string text, bos, eos;
  };
  std::map<std::string, Source> templates;
  const json collected = read(dir + "/templates.json"), conversations = read(dir + "/cases.json");
  for (const auto& t : collected["templates"]) templates[t["name"].get<std::string>()] = {t["template"].get<std::string>(), "<s>", "</s>"};
  bool shared = true;
  for (const auto& s : expected["shared"]) {
    const std::string name = s["name"];
    const auto path = shared_data("tokenizers/hf/" + name.substr(std::string("shared:").size()) + "/tokenizer_config.json");
    if (!path) {
      shared = false;
      continue;
    }
    templates[name] = {read(*path)["chat_template"].get<std::string>(), s["bos_token"].get<std::string>(), s["eos_token"].get<std::string>()};
  }
  std::map<std::string, json> cases;
  for (const auto& c : conversations["cases"]) cases[c["name"].get<std::string>()] = c;

  std::map<std::string, Template> parsed;
  int compared = 0;
  for (const auto& r : expected["results"]) {
    const std::string name = r["template"].get<std::string>();
    auto source = templates.find(name);
    if (source == templates.end()) {
      REQUIRE_MESSAGE(!shared, "expected.json names an unknown template " << name);
      continue;
    }
    if (!parsed.count(name)) parsed.emplace(name, Template(source->second.text));
    const json& c = cases.at(r["case"].get<std::string>());
    json variables = {{"messages", c["messages"]},
                      {"bos_token", source->second.bos},
                      {"eos_token", source->second.eos},
                      {"add_generation_prompt", r["add_generation_prompt"]}};
    if (c.contains("tools")) variables["tools"] = c["tools"];
    if (c.contains("variables"))
      for (const auto& [k, v] : c["variables"].items()) variables[k] = v;
    CAPTURE(name);
    CAPTURE(std::string(r["case"]));
    CAPTURE(bool(r["add_generation_prompt"]));
    const Object vars = from_json(variables).object();
    if (r.contains("output")) {
      std::string got;
      CHECK_NOTHROW(got = parsed.at(name).render(vars));
      CHECK(got == std::string(r["output"]));
    } else {
      // raise_exception's message where the template raised; any error otherwise.
      const std::string error = r["error"];
      const bool raised = source->second.text.find(error) != std::string::npos;
      if (raised) CHECK_THROWS_WITH_AS(parsed.at(name).render(vars), doctest::Contains(error.c_str()), TemplateError);
      else CHECK_THROWS_AS(parsed.at(name).render(vars), TemplateError);
    }
    ++compared;
  }
  CHECK(compared >= (shared ? 480 : 400));
}

TEST_CASE("a model's chat template renders its conversation and tokenizes it with one BOS") {
  const auto dir = shared_data("tokenizers/hf/llama3");
  if (!dir) return;
  const Tokenizer tokenizer = load_tokenizer(*dir);
  REQUIRE_FALSE(tokenizer.vocab().chat_template.empty());
  const ChatTemplate chat(tokenizer);
  const json messages = json::array({{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", "Hi"}}});
  CHECK(chat.render(messages) ==
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n"
        "Hi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  const std::vector<int32_t> ids = chat.encode(messages);
  REQUIRE(!ids.empty());
  CHECK(ids[0] == tokenizer.vocab().bos);
  CHECK(std::count(ids.begin(), ids.end(), tokenizer.vocab().bos) == 1);  // the template's BOS, none added
  CHECK(std::count(ids.begin(), ids.end(), 128009) == 2);                 // <|eot_id|> parsed as one control token each
  CHECK_THROWS_WITH_AS(chat.render(json::array({{{"content", "no role"}}})), doctest::Contains("message 0 needs a string 'role'"), TemplateError);
}

TEST_CASE("chat templates come from GGUF metadata; a model without one says so") {
  vkllm::test::TempFile path("chat-template.gguf");
  SyntheticModel m = test::small_model("llama", "f32");
  m.chat_template = "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content | trim }}\n{% endfor %}";
  make_model(m, path.path);
  const Tokenizer tokenizer = load_tokenizer(path.path);
  CHECK(ChatTemplate(tokenizer).render(json::array({{{"role", "user"}, {"content", " hello "}}})) == "<s>[user] hello\n");
  m.chat_template.clear();
  make_model(m, path.path);
  CHECK_THROWS_WITH_AS(ChatTemplate(load_tokenizer(path.path)), doctest::Contains("the model has no chat template"), Error);
}
