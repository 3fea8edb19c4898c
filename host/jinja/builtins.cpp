#include "host/jinja/builtins.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <map>

namespace vkllm::jinja {

namespace {

[[noreturn]] void fail(const Arguments& a, const std::string& what) { throw TemplateError(a.callee + ": " + what); }

std::string text_arg(const Arguments& a, size_t i, std::string_view name) {
  const Value v = a.get(i, name);
  if (v.undefined()) return "";
  if (!v.is_string()) fail(a, "'" + std::string(name) + "' must be a string, not " + v.type_name());
  return v.str();
}

const Value& subject(const Arguments& a) { return a.positional[0]; }

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// Python's strip family: whitespace, or the given characters.
std::string strip(const std::string& s, const Value& chars, bool left, bool right) {
  auto drop = [&](char c) { return chars.is_string() ? chars.str().find(c) != std::string::npos : is_space(c); };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && drop(s[b])) ++b;
  if (right)
    while (e > b && drop(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
std::string upper(std::string s) {
  for (char& c : s) c = char(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string title(std::string s) {
  bool start = true;
  for (char& c : s) {
    const bool alpha = std::isalpha(static_cast<unsigned char>(c)) != 0;
    c = char(alpha && start ? std::toupper(static_cast<unsigned char>(c)) : std::tolower(static_cast<unsigned char>(c)));
    start = !alpha;
  }
  return s;
}
std::string capitalize(std::string s) {
  s = lower(std::move(s));
  if (!s.empty()) s[0] = char(std::toupper(static_cast<unsigned char>(s[0])));
  return s;
}

std::string replace(const std::string& s, const std::string& from, const std::string& to, int64_t count) {
  if (from.empty()) return s;
  std::string out;
  size_t at = 0;
  for (int64_t n = 0; count < 0 || n < count; ++n) {
    const size_t hit = s.find(from, at);
    if (hit == std::string::npos) break;
    out.append(s, at, hit - at).append(to);
    at = hit + from.size();
  }
  return out.append(s, at);
}

Array split(const std::string& s, const Value& sep, int64_t max_split) {
  Array out;
  if (!sep.is_string()) {  // runs of whitespace, none at the ends
    size_t i = 0;
    while (i < s.size()) {
      while (i < s.size() && is_space(s[i])) ++i;
      if (i >= s.size()) break;
      size_t j = i;
      if (max_split >= 0 && int64_t(out.size()) == max_split) j = s.size();
      else
        while (j < s.size() && !is_space(s[j])) ++j;
      out.push_back(strip(s.substr(i, j - i), {}, false, true));
      i = j;
    }
    return out;
  }
  const std::string& d = sep.str();
  if (d.empty()) throw TemplateError("split: empty separator");
  size_t at = 0;
  for (;;) {
    const size_t hit = (max_split < 0 || int64_t(out.size()) < max_split) ? s.find(d, at) : std::string::npos;
    if (hit == std::string::npos) {
      out.push_back(s.substr(at));
      return out;
    }
    out.push_back(s.substr(at, hit - at));
    at = hit + d.size();
  }
}

int64_t length(const Arguments& a, const Value& v) {
  if (v.is_string()) {
    int64_t n = 0;  // characters, not bytes
    for (unsigned char c : v.str()) n += (c & 0xC0) != 0x80;
    return n;
  }
  if (v.is_array()) return int64_t(v.array().size());
  if (v.is_object()) return int64_t(v.object().items.size());
  if (v.undefined()) return 0;
  fail(a, std::string("a ") + v.type_name() + " has no length");
}

Array as_list(const Arguments& a, const Value& v) {
  if (v.is_array()) return v.array();
  Array out;
  if (v.is_object())
    for (const auto& [k, x] : v.object().items) out.push_back(k);
  else if (v.is_string())
    for (char c : v.str()) out.push_back(std::string(1, c));
  else if (!v.undefined())
    fail(a, std::string("cannot make a list of ") + v.type_name());
  return out;
}

// An item's attribute for selectattr, map, sort, join: "a.b" goes through nested dicts.
Value attribute(const Value& item, const std::string& path) {
  Value v = item;
  size_t at = 0;
  while (at <= path.size()) {
    const size_t dot = path.find('.', at);
    const std::string key = path.substr(at, dot == std::string::npos ? std::string::npos : dot - at);
    if (v.is_object()) {
      const Value* x = v.object().find(key);
      v = x ? *x : Value();
    } else if (v.is_array() && !key.empty() && std::all_of(key.begin(), key.end(), ::isdigit)) {
      const size_t i = std::stoul(key);
      v = i < v.array().size() ? v.array()[i] : Value();
    } else {
      return {};
    }
    if (dot == std::string::npos) break;
    at = dot + 1;
  }
  return v;
}

int order(const Value& x, const Value& y, bool case_sensitive) {
  if (x.is_number() && y.is_number()) return x.number() < y.number() ? -1 : x.number() > y.number() ? 1 : 0;
  if (x.is_string() && y.is_string()) {
    const std::string p = case_sensitive ? x.str() : lower(x.str()), q = case_sensitive ? y.str() : lower(y.str());
    return p < q ? -1 : p > q ? 1 : 0;
  }
  if (x.is_bool() && y.is_bool()) return int(std::get<bool>(x.v)) - int(std::get<bool>(y.v));
  throw TemplateError(std::string("cannot order ") + x.type_name() + " and " + y.type_name());
}

std::string indent_text(const std::string& s, int64_t width, bool first, bool blank) {
  const std::string pad(size_t(std::max<int64_t>(width, 0)), ' ');
  std::string out;
  size_t at = 0;
  bool first_line = true;
  for (;;) {
    const size_t nl = s.find('\n', at);
    const std::string line = s.substr(at, nl == std::string::npos ? std::string::npos : nl - at);
    if ((!first_line || first) && (blank || !line.empty())) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    at = nl + 1;
    first_line = false;
  }
  return out;
}

Value select(Arguments& a, bool by_attribute, bool keep) {
  Array out;
  const std::string attr = by_attribute ? text_arg(a, 1, "attribute") : "";
  const size_t test_at = by_attribute ? 2 : 1;
  const std::string test = a.positional.size() > test_at ? a.positional[test_at].to_string() : "";
  for (const Value& item : as_list(a, subject(a))) {
    const Value v = by_attribute ? attribute(item, attr) : item;
    bool pass;
    if (test.empty()) {
      pass = v.truthy();
    } else {
      Arguments t;
      t.callee = test;
      t.positional.push_back(v);
      for (size_t i = test_at + 1; i < a.positional.size(); ++i) t.positional.push_back(a.positional[i]);
      pass = apply_test(test, t);
    }
    if (pass == keep) out.push_back(item);
  }
  return out;
}

}  // namespace

Value apply_filter(const std::string& name, Arguments& a) {
  const Value& v = subject(a);
  if (name == "trim") return strip(v.to_string(), a.get(1, "chars"), true, true);
  if (name == "tojson") {
    const Value indent = a.get(1, "indent");
    return v.to_json(indent.is_int() ? int(indent.integer()) : -1);
  }
  if (name == "length" || name == "count") return length(a, v);
  if (name == "string") return v.to_string();
  if (name == "upper") return upper(v.to_string());
  if (name == "lower") return lower(v.to_string());
  if (name == "title") return title(v.to_string());
  if (name == "capitalize") return capitalize(v.to_string());
  if (name == "safe" || name == "e" || name == "escape" || name == "forceescape") {
    if (name == "safe") return v;
    std::string out;  // HTML escaping, as markupsafe does
    for (char c : v.to_string())
      out += c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;" : c == '"' ? "&#34;" : c == '\'' ? "&#39;" : std::string(1, c);
    return out;
  }
  if (name == "default" || name == "d") {
    const bool boolean = a.get(2, "boolean", false).truthy();
    return (v.undefined() || (boolean && !v.truthy())) ? a.get(1, "default_value", std::string()) : v;
  }
  if (name == "first" || name == "last") {
    const Array l = as_list(a, v);
    if (l.empty()) return {};
    return name == "first" ? l.front() : l.back();
  }
  if (name == "list") return as_list(a, v);
  if (name == "reverse") {
    if (v.is_string()) return std::string(v.str().rbegin(), v.str().rend());
    Array l = as_list(a, v);
    std::reverse(l.begin(), l.end());
    return l;
  }
  if (name == "join") {
    const std::string sep = a.get(1, "d", std::string()).to_string();
    const Value attr = a.get(2, "attribute");
    std::string out;
    bool first = true;
    for (const Value& item : as_list(a, v)) {
      out += first ? "" : sep;
      out += (attr.is_string() ? attribute(item, attr.str()) : item).to_string();
      first = false;
    }
    return out;
  }
  if (name == "replace") {
    const Value count = a.get(3, "count");
    return replace(v.to_string(), a.get(1, "old").to_string(), a.get(2, "new").to_string(), count.is_int() ? count.integer() : -1);
  }
  if (name == "int") {
    if (v.is_int()) return v;
    if (v.is_float()) return int64_t(std::trunc(v.number()));
    if (v.is_bool()) return int64_t(std::get<bool>(v.v));
    if (v.is_string()) {
      try {
        size_t used = 0;
        const std::string s = strip(v.str(), {}, true, true);
        const int64_t i = std::stoll(s, &used);
        if (used == s.size()) return i;
      } catch (const std::exception&) {
      }
    }
    return a.get(1, "default", int64_t(0));
  }
  if (name == "float") {
    if (v.is_number()) return v.number();
    if (v.is_string()) {
      try {
        return std::stod(v.str());
      } catch (const std::exception&) {
      }
    }
    return a.get(1, "default", 0.0);
  }
  if (name == "abs") {
    if (!v.is_number()) fail(a, std::string("abs of ") + v.type_name());
    return v.is_int() ? Value(v.integer() < 0 ? -v.integer() : v.integer()) : Value(std::fabs(v.number()));
  }
  if (name == "round") {
    if (!v.is_number()) fail(a, std::string("round of ") + v.type_name());
    const int64_t precision = a.get(1, "precision", int64_t(0)).integer();
    const std::string method = a.get(2, "method", std::string("common")).to_string();
    const double scale = std::pow(10.0, double(precision)), x = v.number() * scale;
    const double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::round(x);
    return r / scale;
  }
  if (name == "items") {
    if (v.undefined()) return Array{};
    if (!v.is_object()) fail(a, std::string("items of ") + v.type_name());
    Array out;
    for (const auto& [k, x] : v.object().items) out.push_back(Array{k, x});
    return out;
  }
  if (name == "dictsort") {
    if (!v.is_object()) fail(a, std::string("dictsort of ") + v.type_name());
    const bool case_sensitive = a.get(1, "case_sensitive", false).truthy();
    const bool by_value = a.get(2, "by", std::string("key")).to_string() == "value";
    const bool reverse = a.get(3, "reverse", false).truthy();
    Array out;
    for (const auto& [k, x] : v.object().items) out.push_back(Array{k, x});
    std::stable_sort(out.begin(), out.end(), [&](const Value& p, const Value& q) {
      const int c = order(p.array()[by_value ? 1 : 0], q.array()[by_value ? 1 : 0], case_sensitive);
      return reverse ? c > 0 : c < 0;
    });
    return out;
  }
  if (name == "sort") {
    Array l = as_list(a, v);
    const bool reverse = a.get(1, "reverse", false).truthy(), case_sensitive = a.get(2, "case_sensitive", false).truthy();
    const Value attr = a.get(3, "attribute");
    std::stable_sort(l.begin(), l.end(), [&](const Value& p, const Value& q) {
      const int c = attr.is_string() ? order(attribute(p, attr.str()), attribute(q, attr.str()), case_sensitive) : order(p, q, case_sensitive);
      return reverse ? c > 0 : c < 0;
    });
    return l;
  }
  if (name == "unique") {
    Array out;
    for (const Value& item : as_list(a, v))
      if (std::find(out.begin(), out.end(), item) == out.end()) out.push_back(item);
    return out;
  }
  if (name == "selectattr" || name == "rejectattr") return select(a, true, name == "selectattr");
  if (name == "select" || name == "reject") return select(a, false, name == "select");
  if (name == "map") {
    Array out;
    const Value attr = a.get(99, "attribute");
    for (const Value& item : as_list(a, v)) {
      if (attr.is_string()) {
        const Value x = attribute(item, attr.str());
        out.push_back(x.undefined() ? a.get(99, "default") : x);
        continue;
      }
      if (a.positional.size() < 2) fail(a, "needs a filter name or attribute=");
      Arguments f;
      f.callee = a.positional[1].to_string();
      f.positional.push_back(item);
      for (size_t i = 2; i < a.positional.size(); ++i) f.positional.push_back(a.positional[i]);
      out.push_back(apply_filter(f.callee, f));
    }
    return out;
  }
  if (name == "sum") {
    Value total = a.get(2, "start", int64_t(0));
    const Value attr = a.get(1, "attribute");
    for (const Value& item : as_list(a, v)) {
      const Value x = attr.is_string() ? attribute(item, attr.str()) : item;
      if (!x.is_number()) fail(a, std::string("cannot add ") + x.type_name());
      total = total.is_int() && x.is_int() ? Value(total.integer() + x.integer()) : Value(total.number() + x.number());
    }
    return total;
  }
  if (name == "min" || name == "max") {
    const Array l = as_list(a, v);
    if (l.empty()) return {};
    Value best = l[0];
    for (const Value& x : l)
      if (name == "min" ? order(x, best, false) < 0 : order(x, best, false) > 0) best = x;
    return best;
  }
  if (name == "indent") {
    return indent_text(v.to_string(), a.get(1, "width", int64_t(4)).integer(), a.get(2, "first", false).truthy(),
                       a.get(3, "blank", false).truthy());
  }
  if (name == "wordcount") return int64_t(split(v.to_string(), {}, -1).size());
  fail(a, "unknown filter '" + name + "'");
}

bool apply_test(const std::string& name, Arguments& a) {
  const Value& v = subject(a);
  if (name == "defined") return !v.undefined();
  if (name == "undefined") return v.undefined();
  if (name == "none") return v.none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && std::get<bool>(v.v);
  if (name == "false") return v.is_bool() && !std::get<bool>(v.v);
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_object();
  if (name == "iterable") return v.is_array() || v.is_object() || v.is_string();
  if (name == "sequence") return v.is_array() || v.is_string() || v.is_object();
  if (name == "callable") return v.is_function();
  if (name == "lower") return v.is_string() && lower(v.str()) == v.str();
  if (name == "upper") return v.is_string() && upper(v.str()) == v.str();
  if (name == "odd" || name == "even") {
    if (!v.is_int()) fail(a, std::string("needs an integer, not ") + v.type_name());
    return (v.integer() % 2 != 0) == (name == "odd");
  }
  if (name == "divisibleby") {
    const Value d = a.get(1, "num");
    if (!v.is_int() || !d.is_int() || d.integer() == 0) fail(a, "needs integers (and a nonzero divisor)");
    return v.integer() % d.integer() == 0;
  }
  if (name == "equalto" || name == "eq" || name == "==" || name == "sameas") return v == a.get(1, "other");
  if (name == "ne" || name == "!=") return !(v == a.get(1, "other"));
  if (name == "lt" || name == "gt" || name == "le" || name == "ge") {
    const int c = order(v, a.get(1, "other"), true);
    return name == "lt" ? c < 0 : name == "gt" ? c > 0 : name == "le" ? c <= 0 : c >= 0;
  }
  if (name == "in") {
    const Value c = a.get(1, "seq");
    if (c.is_array()) return std::find(c.array().begin(), c.array().end(), v) != c.array().end();
    if (c.is_string() && v.is_string()) return c.str().find(v.str()) != std::string::npos;
    if (c.is_object() && v.is_string()) return c.object().find(v.str()) != nullptr;
    return false;
  }
  fail(a, "unknown test '" + name + "'");
}

Value call_method(const Value& self, const std::string& name, Arguments& a) {
  a.callee = std::string(self.type_name()) + "." + name;
  if (self.is_string()) {
    const std::string& s = self.str();
    if (name == "strip") return strip(s, a.get(0, "chars"), true, true);
    if (name == "lstrip") return strip(s, a.get(0, "chars"), true, false);
    if (name == "rstrip") return strip(s, a.get(0, "chars"), false, true);
    if (name == "upper") return upper(s);
    if (name == "lower") return lower(s);
    if (name == "title") return title(s);
    if (name == "capitalize") return capitalize(s);
    if (name == "split") {
      const Value max = a.get(1, "maxsplit");
      return split(s, a.get(0, "sep"), max.is_int() ? max.integer() : -1);
    }
    if (name == "startswith" || name == "endswith") {
      const Value p = a.get(0, "prefix");
      Array options = p.is_array() ? p.array() : Array{p};
      for (const Value& o : options) {
        if (!o.is_string()) fail(a, std::string("needs a string, not ") + o.type_name());
        const std::string& x = o.str();
        if (name == "startswith" ? s.starts_with(x) : s.ends_with(x)) return true;
      }
      return false;
    }
    if (name == "replace") {
      const Value count = a.get(2, "count");
      return replace(s, a.get(0, "old").to_string(), a.get(1, "new").to_string(), count.is_int() ? count.integer() : -1);
    }
    if (name == "find") {
      const size_t at = s.find(a.get(0, "sub").to_string());
      return at == std::string::npos ? int64_t(-1) : int64_t(at);
    }
    if (name == "count") {
      const std::string sub = a.get(0, "sub").to_string();
      int64_t n = 0;
      for (size_t at = sub.empty() ? std::string::npos : s.find(sub); at != std::string::npos; at = s.find(sub, at + sub.size())) ++n;
      return n;
    }
    if (name == "join") {
      std::string out;
      bool first = true;
      for (const Value& item : as_list(a, a.get(0, "iterable"))) {
        out += first ? "" : s;
        out += item.to_string();
        first = false;
      }
      return out;
    }
    if (name == "splitlines") {
      Array out = split(s, std::string("\n"), -1);
      if (!out.empty() && out.back().str().empty()) out.pop_back();
      return out;
    }
    if (name == "isdigit" || name == "isalpha" || name == "isspace") {
      if (s.empty()) return false;
      return std::all_of(s.begin(), s.end(), [&](char c) {
        const auto u = static_cast<unsigned char>(c);
        return name == "isdigit" ? std::isdigit(u) != 0 : name == "isalpha" ? std::isalpha(u) != 0 : std::isspace(u) != 0;
      });
    }
  } else if (self.is_object()) {
    const Object& o = self.object();
    if (name == "items") {
      Array out;
      for (const auto& [k, x] : o.items) out.push_back(Array{k, x});
      return out;
    }
    if (name == "keys" || name == "values") {
      Array out;
      for (const auto& [k, x] : o.items) out.push_back(name == "keys" ? Value(k) : x);
      return out;
    }
    if (name == "get") {
      const Value key = a.get(0, "key");
      const Value* x = key.is_string() ? o.find(key.str()) : nullptr;
      return x ? *x : a.get(1, "default", nullptr);
    }
  }
  if (self.undefined()) fail(a, "called on an undefined value");
  fail(a, "no such method");
}

Value global(const std::string& name) {
  if (name == "range")
    return Value::function([](Arguments& a) -> Value {
      a.callee = "range";
      std::vector<int64_t> n;
      for (const Value& v : a.positional) {
        if (!v.is_int()) fail(a, std::string("needs integers, not ") + v.type_name());
        n.push_back(v.integer());
      }
      if (n.empty() || n.size() > 3) fail(a, "takes 1 to 3 arguments");
      const int64_t start = n.size() > 1 ? n[0] : 0, stop = n.size() > 1 ? n[1] : n[0], step = n.size() > 2 ? n[2] : 1;
      if (step == 0) fail(a, "step must not be zero");
      const double count = std::ceil((double(stop) - double(start)) / double(step));
      if (count > double(1 << 24)) fail(a, "a range of " + std::to_string(int64_t(count)) + " numbers is too long");
      Array out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.push_back(i);
      return out;
    });
  if (name == "namespace" || name == "dict")
    return Value::function([name](Arguments& a) -> Value {
      auto o = make_object();
      o->is_namespace = name == "namespace";
      for (const Value& p : a.positional)  // namespace(other_dict)
        if (p.is_object())
          for (const auto& [k, v] : p.object().items) o->set(k, v);
      for (const auto& [k, v] : a.keyword) o->set(k, v);
      return o;
    });
  if (name == "raise_exception")
    return Value::function([](Arguments& a) -> Value { throw TemplateError(a.get(0, "message").to_string()); });
  if (name == "strftime_now")
    return Value::function([](Arguments& a) -> Value {
      const std::time_t now = std::time(nullptr);
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[256];
      const size_t n = std::strftime(buf, sizeof buf, a.get(0, "format").to_string().c_str(), &tm);
      return std::string(buf, n);
    });
  return {};
}

}  // namespace vkllm::jinja
