#pragma once
// The parsed form of a template: expressions and statements, as parse() builds them and
// render() walks them.
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "host/jinja/value.h"

namespace vkllm::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

struct Expr {
  enum class Kind {
    Literal,  // value
    Name,     // name
    List,     // items
    Dict,     // items: key, value, key, value, ...
    Attr,     // a.name
    Index,    // a[b]
    Slice,    // a[items[0]:items[1]:items[2]] (null where left out)
    Call,     // a(items, kwargs)
    Filter,   // items[0] | name(items[1:], kwargs)
    Test,     // items[0] is [not] name(items[1:])
    Unary,    // op a: "-", "+", "not"
    Binary,   // a op b
    Ternary,  // a if b else c (c null: undefined)
  };
  Kind kind;
  int line = 0;
  Value value;
  std::string name, op;
  std::vector<ExprPtr> items;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
  ExprPtr a, b, c;
  bool negated = false;
};

struct Node;
using NodePtr = std::unique_ptr<Node>;
using Body = std::vector<NodePtr>;

struct Node {
  enum class Kind {
    Text,      // text
    Output,    // {{ expr }}
    If,        // branches (condition, body), else_body
    For,       // for targets in expr [if condition]: body, else_body
    Set,       // set targets[0][.attr] = expr
    SetBlock,  // set targets[0]: body rendered into it
    Macro,     // macro name(params): body
    Break,
    Continue,
    Block,     // a block that renders its body as is (transformers' {% generation %})
  };
  Kind kind;
  int line = 0;
  std::string text, name, attr;
  ExprPtr expr, condition;
  std::vector<std::pair<ExprPtr, Body>> branches;
  std::vector<std::string> targets;
  std::vector<std::pair<std::string, ExprPtr>> params;  // a macro's, with their defaults (may be null)
  Body body, else_body;
};

// The template's statements; TemplateError names the line of a syntax error.
Body parse(std::string_view source);

}  // namespace vkllm::jinja
