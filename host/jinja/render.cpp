// Walks the parsed template: scopes (a for loop's and a macro's are their own; if does not
// make one, as in Jinja), loop variables, break/continue, macros, and Python's operators.
#include <algorithm>
#include <cmath>

#include "host/jinja/ast.h"
#include "host/jinja/builtins.h"
#include "host/jinja/template.h"

namespace vkllm::jinja {

struct Template::Parsed {
  Body body;
};

namespace {

[[noreturn]] void fail(int line, const std::string& what) { throw TemplateError("template line " + std::to_string(line) + ": " + what); }

// Bounds on what a template may build, so that a hostile one fails instead of exhausting memory.
constexpr int64_t kMaxItems = int64_t(1) << 24;  // characters or elements of one repeated value
constexpr int kMaxCallDepth = 64;                // macro calls within macro calls

// Python's comparison of numbers and strings (and of lists, element by element).
int compare_values(const Value& a, const Value& b, int line) {
  if (a.is_number() && b.is_number()) return a.number() < b.number() ? -1 : a.number() > b.number() ? 1 : 0;
  if (a.is_string() && b.is_string()) return a.str().compare(b.str()) < 0 ? -1 : a.str() == b.str() ? 0 : 1;
  if (a.is_array() && b.is_array()) {
    const Array &x = a.array(), &y = b.array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i)
      if (!(x[i] == y[i])) return compare_values(x[i], y[i], line);
    return x.size() < y.size() ? -1 : x.size() > y.size() ? 1 : 0;
  }
  fail(line, std::string("cannot order ") + a.type_name() + " and " + b.type_name());
}

bool contains(const Value& container, const Value& item, int line) {
  if (container.is_string()) {
    if (!item.is_string()) fail(line, std::string("'in <string>' needs a string on the left, not ") + item.type_name());
    return container.str().find(item.str()) != std::string::npos;
  }
  if (container.is_array()) {
    for (const Value& v : container.array())
      if (v == item) return true;
    return false;
  }
  if (container.is_object()) return item.is_string() && container.object().find(item.str()) != nullptr;
  if (container.undefined()) fail(line, "'in' an undefined value");
  fail(line, std::string("'in' needs a string, list or dict, not ") + container.type_name());
}

Value arithmetic(const std::string& op, const Value& a, const Value& b, int line) {
  if (op == "+") {
    if (a.is_string() && b.is_string()) return a.str() + b.str();
    if (a.is_array() && b.is_array()) {
      Array out = a.array();
      out.insert(out.end(), b.array().begin(), b.array().end());
      return out;
    }
  }
  if (op == "*" && (a.is_string() || a.is_array()) && b.is_int()) {
    const int64_t n = a.is_string() ? int64_t(a.str().size()) : int64_t(a.array().size());
    if (b.integer() > 0 && n > 0 && b.integer() > kMaxItems / n)
      fail(line, "repeating " + std::to_string(n) + " items " + std::to_string(b.integer()) + " times is too long");
    if (a.is_string()) {
      std::string out;
      for (int64_t i = 0; i < b.integer(); ++i) out += a.str();
      return out;
    }
    Array out;
    for (int64_t i = 0; i < b.integer(); ++i) out.insert(out.end(), a.array().begin(), a.array().end());
    return out;
  }
  if (!a.is_number() && !a.is_bool()) fail(line, "'" + op + "' on " + a.type_name() + " and " + b.type_name());
  if (!b.is_number() && !b.is_bool()) fail(line, "'" + op + "' on " + a.type_name() + " and " + b.type_name());
  const auto as_int = [](const Value& v) { return v.is_bool() ? int64_t(std::get<bool>(v.v)) : v.integer(); };
  const bool ints = !a.is_float() && !b.is_float();
  const double x = a.is_bool() ? double(as_int(a)) : a.number(), y = b.is_bool() ? double(as_int(b)) : b.number();
  if (op == "/") {
    if (y == 0) fail(line, "division by zero");
    return x / y;
  }
  if (op == "//" || op == "%") {
    if (y == 0) fail(line, op == "%" ? "modulo by zero" : "division by zero");
    if (ints) {
      const int64_t p = as_int(a), q = as_int(b);
      int64_t d = p / q, m = p % q;
      if (m != 0 && ((m < 0) != (q < 0))) d -= 1, m += q;  // Python floors
      return op == "//" ? Value(d) : Value(m);
    }
    const double d = std::floor(x / y);
    return op == "//" ? Value(d) : Value(x - d * y);
  }
  if (op == "**") {
    if (ints && as_int(b) >= 0) {
      int64_t r = 1;
      for (int64_t i = 0; i < as_int(b); ++i) r *= as_int(a);
      return r;
    }
    return std::pow(x, y);
  }
  if (ints) {
    const int64_t p = as_int(a), q = as_int(b);
    return op == "+" ? p + q : op == "-" ? p - q : p * q;
  }
  return op == "+" ? x + y : op == "-" ? x - y : x * y;
}

// Python's slice of a list or string.
Value slice(const Value& v, const Value& start, const Value& stop, const Value& step, int line) {
  const int64_t n = v.is_string() ? int64_t(v.str().size()) : v.is_array() ? int64_t(v.array().size()) : -1;
  if (n < 0) fail(line, std::string("cannot slice ") + v.type_name());
  for (const Value* x : {&start, &stop, &step})
    if (!x->undefined() && !x->none() && !x->is_int())
      fail(line, std::string("slice indices must be integers or None, not ") + x->type_name());
  const int64_t s = step.undefined() || step.none() ? 1 : step.integer();
  if (s == 0) fail(line, "slice step cannot be zero");
  auto bound = [&](const Value& x, int64_t fallback) {
    if (x.undefined() || x.none()) return fallback;
    int64_t i = x.integer();
    if (i < 0) i += n;
    return s > 0 ? std::clamp<int64_t>(i, 0, n) : std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t from = bound(start, s > 0 ? 0 : n - 1), to = bound(stop, s > 0 ? n : -1);
  if (v.is_string()) {
    std::string out;
    for (int64_t i = from; s > 0 ? i < to : i > to; i += s) out += v.str()[size_t(i)];
    return out;
  }
  Array out;
  for (int64_t i = from; s > 0 ? i < to : i > to; i += s) out.push_back(v.array()[size_t(i)]);
  return out;
}

class Renderer {
 public:
  explicit Renderer(const Object& variables) { scopes_.push_back(variables); }

  void run(const Body& body, std::string& out) {
    if (exec(body, out) != Flow::Normal) fail(0, "break or continue outside a loop");
  }

 private:
  enum class Flow { Normal, Break, Continue };

  Flow exec(const Body& body, std::string& out) {
    for (const NodePtr& n : body) {
      const Flow f = exec(*n, out);
      if (f != Flow::Normal) return f;
    }
    return Flow::Normal;
  }

  Flow exec(const Node& n, std::string& out) {
    switch (n.kind) {
      case Node::Kind::Text: out += n.text; break;
      case Node::Kind::Output: out += eval(*n.expr).to_string(); break;
      case Node::Kind::If:
        for (const auto& [cond, body] : n.branches)
          if (eval(*cond).truthy()) return exec(body, out);
        return exec(n.else_body, out);
      case Node::Kind::For: return loop(n, out);
      case Node::Kind::Set: assign(n, eval(*n.expr)); break;
      case Node::Kind::SetBlock: {
        std::string captured;
        exec(n.body, captured);
        assign(n, captured);
        break;
      }
      case Node::Kind::Macro: define_macro(n); break;
      case Node::Kind::Break: return Flow::Break;
      case Node::Kind::Continue: return Flow::Continue;
      case Node::Kind::Block: return exec(n.body, out);
    }
    return Flow::Normal;
  }

  void assign(const Node& n, Value v) {
    const std::string& name = n.targets[0];
    if (n.attr.empty()) {
      scopes_.back().set(name, std::move(v));
      return;
    }
    const Value target = lookup(name);
    if (!target.is_object() || !target.object().is_namespace)
      fail(n.line, "set " + name + "." + n.attr + ": only a namespace() takes attributes (" + name + " is " + target.type_name() + ")");
    target.object().set(n.attr, std::move(v));
  }

  Flow loop(const Node& n, std::string& out) {
    const Value iterable = eval(*n.expr);
    Array items;
    if (iterable.is_array()) items = iterable.array();
    else if (iterable.is_object())
      for (const auto& [k, v] : iterable.object().items) items.push_back(k);  // a dict iterates its keys
    else if (iterable.is_string())
      for (char c : iterable.str()) items.push_back(std::string(1, c));
    else if (!iterable.undefined() && !iterable.none())
      fail(n.line, std::string("cannot loop over ") + iterable.type_name());
    else if (iterable.none())
      fail(n.line, "cannot loop over none");

    scopes_.emplace_back();
    auto bind = [&](const Value& item) {
      if (n.targets.size() == 1) {
        scopes_.back().set(n.targets[0], item);
        return;
      }
      if (!item.is_array() || item.array().size() != n.targets.size())
        fail(n.line, "cannot unpack " + item.to_string() + " into " + std::to_string(n.targets.size()) + " names");
      for (size_t i = 0; i < n.targets.size(); ++i) scopes_.back().set(n.targets[i], item.array()[i]);
    };
    if (n.condition) {  // the loop's filter runs before it: loop.length counts what passes
      Array kept;
      for (const Value& item : items) {
        bind(item);
        if (eval(*n.condition).truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    Flow result = Flow::Normal;
    const size_t count = items.size();
    for (size_t i = 0; i < count; ++i) {
      bind(items[i]);
      auto l = make_object();
      l->set("index", i + 1);
      l->set("index0", i);
      l->set("revindex", count - i);
      l->set("revindex0", count - i - 1);
      l->set("first", i == 0);
      l->set("last", i + 1 == count);
      l->set("length", count);
      l->set("previtem", i > 0 ? items[i - 1] : Value());
      l->set("nextitem", i + 1 < count ? items[i + 1] : Value());
      l->set("cycle", Value::function([i](Arguments& a) {
               if (a.positional.empty()) throw TemplateError("loop.cycle needs arguments");
               return a.positional[i % a.positional.size()];
             }));
      scopes_.back().set("loop", Value(l));
      const Flow f = exec(n.body, out);
      if (f == Flow::Break) break;
    }
    if (count == 0) result = exec(n.else_body, out);
    scopes_.pop_back();
    return result;
  }

  void define_macro(const Node& n) {
    const Node* macro = &n;
    scopes_.back().set(n.name, Value::function([this, macro](Arguments& a) -> Value {
      if (call_depth_ >= kMaxCallDepth) fail(macro->line, "macro calls nested deeper than " + std::to_string(kMaxCallDepth));
      Object frame;
      for (size_t i = 0; i < macro->params.size(); ++i) {
        const auto& [name, fallback] = macro->params[i];
        Value v = a.get(i, name);
        if (v.undefined() && fallback) v = eval(*fallback);
        frame.set(name, v);
      }
      if (a.positional.size() > macro->params.size())
        fail(macro->line, "macro " + macro->name + " takes " + std::to_string(macro->params.size()) + " arguments");
      scopes_.push_back(std::move(frame));
      ++call_depth_;
      std::string out;
      try {
        exec(macro->body, out);
      } catch (...) {
        scopes_.pop_back();
        --call_depth_;
        throw;
      }
      scopes_.pop_back();
      --call_depth_;
      return out;
    }));
  }

  Value lookup(const std::string& name) const {
    for (auto s = scopes_.rbegin(); s != scopes_.rend(); ++s)
      if (const Value* v = s->find(name)) return *v;
    return global(name);
  }

  Arguments arguments(const Expr& e, size_t first, std::string callee) {
    Arguments a;
    a.callee = std::move(callee);
    for (size_t i = first; i < e.items.size(); ++i) a.positional.push_back(eval(*e.items[i]));
    for (const auto& [k, v] : e.kwargs) a.keyword.emplace_back(k, eval(*v));
    return a;
  }

  Value eval(const Expr& e) {
    try {
      return eval_unguarded(e);
    } catch (const TemplateError& err) {
      const std::string m = err.what();
      if (m.starts_with("template line ")) throw;
      fail(e.line, m);
    }
  }

  Value eval_unguarded(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::Literal: return e.value;
      case Expr::Kind::Name: return lookup(e.name);
      case Expr::Kind::List: {
        Array a;
        for (const ExprPtr& item : e.items) a.push_back(eval(*item));
        return a;
      }
      case Expr::Kind::Dict: {
        auto o = make_object();
        for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
          const Value k = eval(*e.items[i]);
          if (!k.is_string()) fail(e.line, std::string("dict keys must be strings here, not ") + k.type_name());
          o->set(k.str(), eval(*e.items[i + 1]));
        }
        return o;
      }
      case Expr::Kind::Attr: {
        const Value object = eval(*e.a);
        if (object.is_object())
          if (const Value* v = object.object().find(e.name)) return *v;
        return {};
      }
      case Expr::Kind::Index: return index(eval(*e.a), eval(*e.b), e.line);
      case Expr::Kind::Slice: {
        Value parts[3];
        for (int i = 0; i < 3; ++i)
          if (e.items[size_t(i)]) parts[i] = eval(*e.items[size_t(i)]);
        return slice(eval(*e.a), parts[0], parts[1], parts[2], e.line);
      }
      case Expr::Kind::Call: {
        if (e.a->kind == Expr::Kind::Attr) {  // a method, unless the dict holds a function by that name
          const Value self = eval(*e.a->a);
          const Value* held = self.is_object() ? self.object().find(e.a->name) : nullptr;
          if (!held || !held->is_function()) {
            Arguments a = arguments(e, 0, e.a->name);
            return call_method(self, e.a->name, a);
          }
        }
        const Value callee = eval(*e.a);
        const std::string name = e.a->kind == Expr::Kind::Name ? e.a->name : "the value";
        if (!callee.is_function()) fail(e.line, name + " is " + (callee.undefined() ? "undefined" : callee.type_name()) + ", not a function");
        Arguments a = arguments(e, 0, name);
        return callee.function()(a);
      }
      case Expr::Kind::Filter: {
        Arguments a = arguments(e, 1, e.name);
        a.positional.insert(a.positional.begin(), eval(*e.items[0]));
        return apply_filter(e.name, a);
      }
      case Expr::Kind::Test: {
        Arguments a = arguments(e, 1, e.name);
        a.positional.insert(a.positional.begin(), eval(*e.items[0]));
        return apply_test(e.name, a) != e.negated;
      }
      case Expr::Kind::Unary: {
        const Value v = eval(*e.a);
        if (e.op == "not") return !v.truthy();
        if (!v.is_number()) fail(e.line, "unary '" + e.op + "' on " + v.type_name());
        if (e.op == "+") return v;
        return v.is_int() ? Value(-v.integer()) : Value(-v.number());
      }
      case Expr::Kind::Binary: return binary(e);
      case Expr::Kind::Ternary:
        if (eval(*e.b).truthy()) return eval(*e.a);
        return e.c ? eval(*e.c) : Value();
    }
    return {};
  }

  Value index(const Value& object, const Value& key, int line) {
    if (object.is_object()) {
      if (!key.is_string()) return {};
      const Value* v = object.object().find(key.str());
      return v ? *v : Value();
    }
    if (object.is_array() || object.is_string()) {
      if (!key.is_int()) fail(line, std::string("list and string indices must be integers, not ") + key.type_name());
      const int64_t n = object.is_array() ? int64_t(object.array().size()) : int64_t(object.str().size());
      int64_t i = key.integer();
      if (i < 0) i += n;
      if (i < 0 || i >= n) return {};
      return object.is_array() ? object.array()[size_t(i)] : Value(std::string(1, object.str()[size_t(i)]));
    }
    if (object.undefined()) return {};
    fail(line, std::string("cannot index ") + object.type_name());
  }

  Value binary(const Expr& e) {
    const std::string& op = e.op;
    if (op == "and") {
      Value a = eval(*e.a);
      return a.truthy() ? eval(*e.b) : a;
    }
    if (op == "or") {
      Value a = eval(*e.a);
      return a.truthy() ? a : eval(*e.b);
    }
    const Value a = eval(*e.a), b = eval(*e.b);
    if (op == "~") return a.to_string() + b.to_string();
    if (op == "==") return a == b;
    if (op == "!=") return !(a == b);
    if (op == "<") return compare_values(a, b, e.line) < 0;
    if (op == ">") return compare_values(a, b, e.line) > 0;
    if (op == "<=") return compare_values(a, b, e.line) <= 0;
    if (op == ">=") return compare_values(a, b, e.line) >= 0;
    if (op == "in") return contains(b, a, e.line);
    if (op == "not in") return !contains(b, a, e.line);
    if (a.undefined() || b.undefined()) fail(e.line, "'" + op + "' on an undefined value");
    return arithmetic(op, a, b, e.line);
  }

  std::vector<Object> scopes_;
  int call_depth_ = 0;
};

}  // namespace

Template::Template(std::string_view source) : parsed_(std::make_unique<Parsed>(Parsed{parse(source)})) {}
Template::~Template() = default;
Template::Template(Template&&) noexcept = default;
Template& Template::operator=(Template&&) noexcept = default;

std::string Template::render(const Object& variables) const {
  std::string out;
  Renderer(variables).run(parsed_->body, out);
  return out;
}

}  // namespace vkllm::jinja
