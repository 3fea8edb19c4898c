#include "host/jinja/value.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace vkllm::jinja {

namespace {

// Python's repr of a float: the shortest text that reads back the same, with ".0" when it
// would look like an integer.
std::string float_text(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  // Python writes exponents from 1e16 up and below 1e-4, else fixed digits.
  const double a = std::fabs(d);
  const bool exponent = a != 0 && (a >= 1e16 || a < 1e-4);
  char buf[400];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, exponent ? std::chars_format::scientific : std::chars_format::fixed);
  std::string s(buf, end);
  if (!exponent && s.find('.') == std::string::npos) s += ".0";
  return s;
}

void json_string(std::string& out, const std::string& s) {
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  out += '"';
}

void json(std::string& out, const Value& v, int indent, int depth) {
  // Built by append: GCC 12 misreports "\n" + std::string(...) (-Wrestrict).
  std::string newline, close;
  if (indent >= 0) {
    newline.append(1, '\n').append(size_t(indent * (depth + 1)), ' ');
    close.append(1, '\n').append(size_t(indent * depth), ' ');
  }
  const char* comma = indent >= 0 ? "," : ", ";
  if (v.undefined() || v.none()) {
    out += "null";
  } else if (v.is_bool()) {
    out += std::get<bool>(v.v) ? "true" : "false";
  } else if (v.is_int()) {
    out += std::to_string(v.integer());
  } else if (v.is_float()) {
    const double d = std::get<double>(v.v);
    out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d > 0 ? "Infinity" : "-Infinity") : float_text(d);
  } else if (v.is_string()) {
    json_string(out, v.str());
  } else if (v.is_array()) {
    const Array& a = v.array();
    if (a.empty()) {
      out += "[]";
      return;
    }
    out += '[';
    for (size_t i = 0; i < a.size(); ++i) {
      out += i ? comma : "";
      out += newline;
      json(out, a[i], indent, depth + 1);
    }
    out += close + "]";
  } else if (v.is_object()) {
    const Object& o = v.object();
    if (o.items.empty()) {
      out += "{}";
      return;
    }
    out += '{';
    for (size_t i = 0; i < o.items.size(); ++i) {
      out += i ? comma : "";
      out += newline;
      json_string(out, o.items[i].first);
      out += ": ";
      json(out, o.items[i].second, indent, depth + 1);
    }
    out += close + "}";
  } else {
    throw TemplateError("tojson: a function is not JSON");
  }
}

}  // namespace

bool Value::truthy() const {
  return std::visit(
      [](const auto& x) -> bool {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, Undefined> || std::is_same_v<T, std::nullptr_t>) return false;
        else if constexpr (std::is_same_v<T, bool>) return x;
        else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) return x != 0;
        else if constexpr (std::is_same_v<T, std::string>) return !x.empty();
        else if constexpr (std::is_same_v<T, std::shared_ptr<Array>>) return !x->empty();
        else if constexpr (std::is_same_v<T, std::shared_ptr<Object>>) return !x->items.empty();
        else return true;
      },
      v);
}

std::string Value::to_string() const {
  if (undefined()) return "";
  if (none()) return "None";
  if (is_bool()) return std::get<bool>(v) ? "True" : "False";
  if (is_int()) return std::to_string(integer());
  if (is_float()) return float_text(std::get<double>(v));
  if (is_string()) return str();
  if (is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < array().size(); ++i) out += (i ? ", " : "") + array()[i].repr();
    return out + "]";
  }
  if (is_object()) {
    std::string out = "{";
    const auto& items = object().items;
    for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + Value(items[i].first).repr() + ": " + items[i].second.repr();
    return out + "}";
  }
  return "<function>";
}

std::string Value::repr() const {
  if (!is_string()) return to_string();
  // Python quotes with ' unless the text holds ' and no ".
  const bool double_quoted = str().find('\'') != std::string::npos && str().find('"') == std::string::npos;
  const char q = double_quoted ? '"' : '\'';
  std::string out(1, q);
  for (char c : str()) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (c == '\r') out += "\\r";
    else if (c == q) out += std::string("\\") + q;
    else out += c;
  }
  return out + q;
}

std::string Value::to_json(int indent) const {
  std::string out;
  json(out, *this, indent, 0);
  return out;
}

const char* Value::type_name() const {
  static const char* names[] = {"undefined", "none", "boolean", "integer", "float", "string", "list", "dict", "function"};
  return names[v.index()];
}

bool Value::operator==(const Value& o) const {
  if (is_number() && o.is_number()) {
    if (is_int() && o.is_int()) return integer() == o.integer();
    return number() == o.number();
  }
  if (is_bool() && o.is_number()) return double(std::get<bool>(v)) == o.number();  // True == 1
  if (is_number() && o.is_bool()) return o == *this;
  if (v.index() != o.v.index()) return false;
  if (is_array()) return array() == o.array();
  if (is_object()) {
    const auto &a = object().items, &b = o.object().items;
    if (a.size() != b.size()) return false;
    for (const auto& [k, val] : a) {
      const Value* other = o.object().find(k);
      if (!other || !(*other == val)) return false;
    }
    return true;
  }
  if (is_function()) return std::get<std::shared_ptr<Function>>(v) == std::get<std::shared_ptr<Function>>(o.v);
  return v == o.v;
}

const Value* Object::find(std::string_view key) const {
  for (const auto& [k, v] : items)
    if (k == key) return &v;
  return nullptr;
}

void Object::set(const std::string& key, Value value) {
  for (auto& [k, v] : items)
    if (k == key) {
      v = std::move(value);
      return;
    }
  items.emplace_back(key, std::move(value));
}

Value Arguments::get(size_t i, std::string_view name, Value fallback) const {
  if (i < positional.size()) return positional[i];
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  return fallback;
}

Value from_json(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null: return nullptr;
    case nlohmann::ordered_json::value_t::boolean: return j.get<bool>();
    case nlohmann::ordered_json::value_t::number_integer: return j.get<int64_t>();
    case nlohmann::ordered_json::value_t::number_unsigned: return int64_t(j.get<uint64_t>());
    case nlohmann::ordered_json::value_t::number_float: return j.get<double>();
    case nlohmann::ordered_json::value_t::string: return j.get<std::string>();
    case nlohmann::ordered_json::value_t::array: {
      Array a;
      for (const auto& e : j) a.push_back(from_json(e));
      return a;
    }
    case nlohmann::ordered_json::value_t::object: {
      auto o = make_object();
      for (const auto& [k, e] : j.items()) o->set(k, from_json(e));
      return o;
    }
    default: return {};
  }
}

}  // namespace vkllm::jinja
