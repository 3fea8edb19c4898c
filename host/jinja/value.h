#pragma once
// The values templates compute with, with Python's semantics where Jinja has them (truth,
// equality, str(), slicing): undefined, none, booleans, integers, floats, strings, lists,
// dicts that keep their insertion order (tojson and items() follow it), and callables.
// Lists and dicts are shared by reference, as in Python.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "runtime/error.h"

namespace vkllm::jinja {

// What a template reports: a syntax error with its line, an unknown name called, a failed
// operation, or raise_exception()'s message.
struct TemplateError : Error {
  using Error::Error;
};

struct Value;
using Array = std::vector<Value>;
struct Object;
struct Arguments;
using Function = std::function<Value(Arguments&)>;

struct Undefined {
  bool operator==(const Undefined&) const = default;
};

struct Value {
  std::variant<Undefined, std::nullptr_t, bool, int64_t, double, std::string, std::shared_ptr<Array>, std::shared_ptr<Object>,
               std::shared_ptr<Function>>
      v;

  Value() = default;
  Value(std::nullptr_t) : v(nullptr) {}
  Value(bool b) : v(b) {}
  Value(int i) : v(int64_t(i)) {}
  Value(int64_t i) : v(i) {}
  Value(size_t i) : v(int64_t(i)) {}
  Value(double d) : v(d) {}
  Value(std::string s) : v(std::move(s)) {}
  Value(const char* s) : v(std::string(s)) {}
  Value(Array a) : v(std::make_shared<Array>(std::move(a))) {}
  Value(std::shared_ptr<Object> o) : v(std::move(o)) {}
  static Value function(Function f) {
    Value out;
    out.v = std::make_shared<Function>(std::move(f));
    return out;
  }

  bool undefined() const { return std::holds_alternative<Undefined>(v); }
  bool none() const { return std::holds_alternative<std::nullptr_t>(v); }
  bool is_bool() const { return std::holds_alternative<bool>(v); }
  bool is_int() const { return std::holds_alternative<int64_t>(v); }
  bool is_float() const { return std::holds_alternative<double>(v); }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return std::holds_alternative<std::string>(v); }
  bool is_array() const { return std::holds_alternative<std::shared_ptr<Array>>(v); }
  bool is_object() const { return std::holds_alternative<std::shared_ptr<Object>>(v); }
  bool is_function() const { return std::holds_alternative<std::shared_ptr<Function>>(v); }

  // The value as one type; another type is a TemplateError (a template may pass anything where
  // a builtin expects a number), never std::bad_variant_access.
  const std::string& str() const { return as<std::string>("a string"); }
  int64_t integer() const { return as<int64_t>("an integer"); }
  double number() const { return is_int() ? double(integer()) : as<double>("a number"); }
  Array& array() const { return *as<std::shared_ptr<Array>>("a list"); }
  Object& object() const { return *as<std::shared_ptr<Object>>("a dict"); }
  Function& function() const { return *as<std::shared_ptr<Function>>("a function"); }

  bool truthy() const;
  // Python's str(): what {{ }} prints ("None", "True", 1.0 as "1.0"; undefined prints nothing).
  std::string to_string() const;
  // Python's repr() for strings inside lists and dicts ('a'), as str() of a container shows them.
  std::string repr() const;
  // transformers' tojson: json.dumps(ensure_ascii=False), separators ", " and ": " (with an
  // indent: "," and newlines), keys in insertion order.
  std::string to_json(int indent = -1) const;
  const char* type_name() const;  // for errors: "string", "list", ...


  bool operator==(const Value& other) const;  // Python's ==: 1 == 1.0, lists and dicts by value

 private:
  template <class T>
  const T& as(const char* expected) const {
    if (const T* p = std::get_if<T>(&v)) return *p;
    throw TemplateError(std::string("expected ") + expected + ", not " + type_name());
  }
};

struct Object {
  std::vector<std::pair<std::string, Value>> items;
  bool is_namespace = false;  // namespace(): the one kind of object `set x.y = ...` may change

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

inline std::shared_ptr<Object> make_object() { return std::make_shared<Object>(); }

// A call's arguments: positional, then keyword.
struct Arguments {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  std::string callee;  // for errors

  // The i-th positional argument or the keyword one named so; `fallback` where neither is given.
  Value get(size_t i, std::string_view name, Value fallback = {}) const;
};

Value from_json(const nlohmann::ordered_json& j);

}  // namespace vkllm::jinja
