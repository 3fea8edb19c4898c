// Jinja's syntax as transformers configures it for chat templates: trim_blocks and
// lstrip_blocks on, "-" and "+" whitespace control, {# comments #}. Text is cut into tags
// first (whitespace control applied there), then each tag's inside is tokenized and parsed
// by recursive descent with Jinja's operator precedence.
#include <cctype>
#include <algorithm>
#include <cstdlib>
#include <set>

#include "host/jinja/ast.h"

namespace vkllm::jinja {

namespace {

struct Token {
  enum class Kind { Text, ExprOpen, ExprClose, StmtOpen, StmtClose, Name, String, Int, Float, Op, End };
  Kind kind;
  std::string text;
  int line;
};

[[noreturn]] void fail(int line, const std::string& what) { throw TemplateError("template line " + std::to_string(line) + ": " + what); }

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

class Lexer {
 public:
  explicit Lexer(std::string_view s) : s_(s) {}

  std::vector<Token> run() {
    size_t pos = 0;
    bool strip_next = false;  // the previous tag ended with "-"
    bool trim_newline = false;  // the previous tag was a block or comment (trim_blocks)
    while (pos < s_.size()) {
      const size_t open = find_open(pos);
      std::string text(s_.substr(pos, open - pos));
      if (strip_next) {
        size_t i = 0;
        while (i < text.size() && is_space(text[i])) ++i;
        text.erase(0, i);
      } else if (trim_newline) {
        if (text.starts_with("\r\n")) text.erase(0, 2);
        else if (text.starts_with("\n")) text.erase(0, 1);
      }
      if (open == s_.size()) {
        push_text(std::move(text), line_at(pos));
        break;
      }
      const char kind = s_[open + 1];  // '{', '%' or '#'
      const char control = open + 2 < s_.size() ? s_[open + 2] : '\0';
      if (control == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (kind != '{' && control != '+') {
        // lstrip_blocks: spaces and tabs between a line's start and a block tag go.
        size_t ws = open;
        while (ws > pos && (s_[ws - 1] == ' ' || s_[ws - 1] == '\t')) --ws;
        if (ws == 0 || s_[ws - 1] == '\n') text.erase(text.size() - std::min(text.size(), open - ws));
      }
      push_text(std::move(text), line_at(pos));
      const int line = line_at(open);
      size_t inner = open + 2 + (control == '-' || control == '+' ? 1 : 0);
      if (kind == '#') {
        const size_t close = s_.find("#}", inner);
        if (close == std::string_view::npos) fail(line, "a comment is not closed with #}");
        strip_next = close > inner && s_[close - 1] == '-';
        trim_newline = !strip_next;
        pos = close + 2;
        continue;
      }
      const std::string closing = kind == '{' ? "}}" : "%}";
      tokens_.push_back({kind == '{' ? Token::Kind::ExprOpen : Token::Kind::StmtOpen, "", line});
      const size_t end = tokenize(inner, closing, line);
      strip_next = end > inner && s_[end - 1] == '-';
      tokens_.push_back({kind == '{' ? Token::Kind::ExprClose : Token::Kind::StmtClose, "", line_at(end)});
      trim_newline = kind == '%' && !strip_next;
      pos = end + 2;
    }
    tokens_.push_back({Token::Kind::End, "", line_at(s_.size())});
    return std::move(tokens_);
  }

 private:
  size_t find_open(size_t from) const {
    for (size_t i = from; i + 1 < s_.size(); ++i)
      if (s_[i] == '{' && (s_[i + 1] == '{' || s_[i + 1] == '%' || s_[i + 1] == '#')) return i;
    return s_.size();
  }
  int line_at(size_t at) {  // tags come in order: count newlines from the last answer on
    if (at < counted_) counted_ = 0, line_ = 1;
    for (; counted_ < at && counted_ < s_.size(); ++counted_) line_ += s_[counted_] == '\n';
    return line_;
  }
  void push_text(std::string text, int line) {
    if (!text.empty()) tokens_.push_back({Token::Kind::Text, std::move(text), line});
  }

  // Tokens of a tag's inside from `at` up to `closing`; returns where `closing` starts.
  size_t tokenize(size_t at, const std::string& closing, int line) {
    static const char* ops[] = {"**", "//", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "<", ">", "=", "(", ")", "[", "]",
                                "{", "}", ",", ".", ":", "|"};
    size_t i = at;
    for (;;) {
      while (i < s_.size() && is_space(s_[i])) ++i;
      if (i >= s_.size()) fail(line, "a tag is not closed with " + closing);
      if (s_.compare(i, 2, closing) == 0) return i;
      if (s_[i] == '-' && s_.compare(i + 1, 2, closing) == 0) return i + 1;  // "-}}": strip after
      const char c = s_[i];
      if (c == '\'' || c == '"') {
        std::string value;
        size_t j = i + 1;
        for (; j < s_.size() && s_[j] != c; ++j) {
          if (s_[j] != '\\' || j + 1 >= s_.size()) {
            value += s_[j];
            continue;
          }
          const char e = s_[++j];
          value += e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == '0' ? '\0' : e;
        }
        if (j >= s_.size()) fail(line, "a string is not closed");
        tokens_.push_back({Token::Kind::String, std::move(value), line});
        i = j + 1;
      } else if (std::isdigit(static_cast<unsigned char>(c))) {
        size_t j = i;
        while (j < s_.size() && (std::isdigit(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
        bool real = false;
        if (j + 1 < s_.size() && s_[j] == '.' && std::isdigit(static_cast<unsigned char>(s_[j + 1]))) {
          real = true;
          for (++j; j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j])); ++j) {
          }
        }
        if (j < s_.size() && (s_[j] == 'e' || s_[j] == 'E')) {
          size_t k = j + 1;
          if (k < s_.size() && (s_[k] == '+' || s_[k] == '-')) ++k;
          if (k < s_.size() && std::isdigit(static_cast<unsigned char>(s_[k]))) {
            real = true;
            for (j = k; j < s_.size() && std::isdigit(static_cast<unsigned char>(s_[j])); ++j) {
            }
          }
        }
        std::string digits;
        for (char d : s_.substr(i, j - i))
          if (d != '_') digits += d;
        tokens_.push_back({real ? Token::Kind::Float : Token::Kind::Int, digits, line});
        i = j;
      } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
        size_t j = i;
        while (j < s_.size() && (std::isalnum(static_cast<unsigned char>(s_[j])) || s_[j] == '_')) ++j;
        tokens_.push_back({Token::Kind::Name, std::string(s_.substr(i, j - i)), line});
        i = j;
      } else {
        bool matched = false;
        for (const char* op : ops) {
          const size_t n = std::char_traits<char>::length(op);
          if (s_.compare(i, n, op) == 0) {
            tokens_.push_back({Token::Kind::Op, op, line});
            i += n;
            matched = true;
            break;
          }
        }
        if (!matched) fail(line, std::string("unexpected character '") + c + "'");
      }
    }
  }

  std::string_view s_;
  std::vector<Token> tokens_;
  size_t counted_ = 0;
  int line_ = 1;
};

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  Body parse_template() {
    Body body = parse_body({});
    if (peek().kind != Token::Kind::End) fail(peek().line, "unexpected '" + peek_keyword() + "'");
    return body;
  }

 private:
  const Token& peek(size_t ahead = 0) const { return t_[std::min(i_ + ahead, t_.size() - 1)]; }
  const Token& next() { return t_[std::min(i_++, t_.size() - 1)]; }
  bool at_op(const char* op) const { return peek().kind == Token::Kind::Op && peek().text == op; }
  bool at_name(const char* name) const { return peek().kind == Token::Kind::Name && peek().text == name; }
  bool accept_op(const char* op) {
    if (!at_op(op)) return false;
    ++i_;
    return true;
  }
  bool accept_name(const char* name) {
    if (!at_name(name)) return false;
    ++i_;
    return true;
  }
  void expect_op(const char* op) {
    if (!accept_op(op)) fail(peek().line, std::string("expected '") + op + "', found " + describe(peek()));
  }
  void expect(Token::Kind kind, const char* what) {
    if (peek().kind != kind) fail(peek().line, std::string("expected ") + what + ", found " + describe(peek()));
    ++i_;
  }
  std::string expect_name() {
    if (peek().kind != Token::Kind::Name) fail(peek().line, "expected a name, found " + describe(peek()));
    return next().text;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case Token::Kind::End: return "the end of the template";
      case Token::Kind::ExprClose: return "'}}'";
      case Token::Kind::StmtClose: return "'%}'";
      case Token::Kind::Text: return "text";
      default: return "'" + t.text + "'";
    }
  }
  // The keyword of the statement tag at the cursor ("" where there is none).
  std::string peek_keyword() const {
    return peek().kind == Token::Kind::StmtOpen && peek(1).kind == Token::Kind::Name ? peek(1).text : describe(peek());
  }

  // Statements until a tag whose keyword is in `ends` (left unread) or the end; `closer`
  // names the tag a missing end is reported as.
  Body parse_body(const std::set<std::string>& ends, const char* closer = "") {
    Body body;
    for (;;) {
      const Token& t = peek();
      if (t.kind == Token::Kind::End) {
        if (!ends.empty()) fail(t.line, std::string("missing {% ") + closer + " %}");
        return body;
      }
      if (t.kind == Token::Kind::Text) {
        auto n = node(Node::Kind::Text, t.line);
        n->text = next().text;
        body.push_back(std::move(n));
      } else if (t.kind == Token::Kind::ExprOpen) {
        next();
        auto n = node(Node::Kind::Output, t.line);
        n->expr = expression();
        expect(Token::Kind::ExprClose, "'}}'");
        body.push_back(std::move(n));
      } else {
        if (ends.count(peek_keyword())) return body;
        body.push_back(statement());
      }
    }
  }

  static NodePtr node(Node::Kind kind, int line) {
    auto n = std::make_unique<Node>();
    n->kind = kind;
    n->line = line;
    return n;
  }

  void end_tag() { expect(Token::Kind::StmtClose, "'%}'"); }
  // Reads "{% keyword %}" of a block's end.
  void closing(const char* keyword) {
    expect(Token::Kind::StmtOpen, "'{%'");
    if (!accept_name(keyword)) fail(peek().line, std::string("expected ") + keyword);
    end_tag();
  }

  NodePtr statement() {
    Nested nested(depth_, peek().line);
    const int line = next().line;  // {%
    const std::string keyword = expect_name();
    if (keyword == "if") {
      auto n = node(Node::Kind::If, line);
      ExprPtr cond = expression();
      end_tag();
      for (;;) {
        Body body = parse_body({"elif", "else", "endif"}, "endif");
        n->branches.emplace_back(std::move(cond), std::move(body));
        next();
        const std::string k = next().text;
        if (k == "elif") {
          cond = expression();
          end_tag();
          continue;
        }
        end_tag();
        if (k == "else") {
          n->else_body = parse_body({"endif"}, "endif");
          closing("endif");
        }
        return n;
      }
    }
    if (keyword == "for") {
      auto n = node(Node::Kind::For, line);
      do n->targets.push_back(expect_name());
      while (accept_op(","));
      if (!accept_name("in")) fail(peek().line, "expected 'in' in a for loop");
      n->expr = or_expr();  // not a ternary: "if" here filters the loop
      if (accept_name("if")) n->condition = or_expr();
      accept_name("recursive");
      end_tag();
      n->body = parse_body({"else", "endfor"}, "endfor");
      next();
      if (next().text == "else") {
        end_tag();
        n->else_body = parse_body({"endfor"}, "endfor");
        closing("endfor");
      } else {
        end_tag();
      }
      return n;
    }
    if (keyword == "set") {
      const std::string target = expect_name();
      std::string attr;
      if (accept_op(".")) attr = expect_name();
      if (accept_op("=")) {
        auto n = node(Node::Kind::Set, line);
        n->targets.push_back(target);
        n->attr = attr;
        n->expr = expression();
        end_tag();
        return n;
      }
      if (!attr.empty()) fail(peek().line, "expected '=' after set " + target + "." + attr);
      auto n = node(Node::Kind::SetBlock, line);
      n->targets.push_back(target);
      end_tag();
      n->body = parse_body({"endset"}, "endset");
      closing("endset");
      return n;
    }
    if (keyword == "macro") {
      auto n = node(Node::Kind::Macro, line);
      n->name = expect_name();
      expect_op("(");
      while (!accept_op(")")) {
        std::string param = expect_name();
        ExprPtr fallback;
        if (accept_op("=")) fallback = expression();
        n->params.emplace_back(std::move(param), std::move(fallback));
        if (!at_op(")")) expect_op(",");
      }
      end_tag();
      n->body = parse_body({"endmacro"}, "endmacro");
      closing("endmacro");
      return n;
    }
    if (keyword == "break" || keyword == "continue") {
      end_tag();
      return node(keyword == "break" ? Node::Kind::Break : Node::Kind::Continue, line);
    }
    if (keyword == "generation") {
      auto n = node(Node::Kind::Block, line);
      end_tag();
      n->body = parse_body({"endgeneration"}, "endgeneration");
      closing("endgeneration");
      return n;
    }
    fail(line, "unknown or unsupported tag '" + keyword + "'");
  }

  // ---- Expressions, lowest precedence first ----

  ExprPtr make(Expr::Kind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }
  ExprPtr binary(std::string op, ExprPtr a, ExprPtr b) {
    auto e = make(Expr::Kind::Binary, a->line);
    e->op = std::move(op);
    e->a = std::move(a);
    e->b = std::move(b);
    return e;
  }

  // Nesting (brackets, blocks) deeper than this is refused, not a stack overflow.
  static constexpr int kMaxDepth = 200;
  struct Nested {
    int& depth;
    Nested(int& d, int line) : depth(d) {
      if (++depth > kMaxDepth) fail(line, "nesting deeper than " + std::to_string(kMaxDepth) + " levels");
    }
    ~Nested() { --depth; }
  };

  ExprPtr expression() {
    Nested nested(depth_, peek().line);
    ExprPtr value = or_expr();
    if (!at_name("if")) return value;
    next();
    auto e = make(Expr::Kind::Ternary, value->line);
    e->a = std::move(value);
    e->b = or_expr();
    if (accept_name("else")) e->c = expression();
    return e;
  }
  ExprPtr or_expr() {
    ExprPtr e = and_expr();
    while (accept_name("or")) e = binary("or", std::move(e), and_expr());
    return e;
  }
  ExprPtr and_expr() {
    ExprPtr e = not_expr();
    while (accept_name("and")) e = binary("and", std::move(e), not_expr());
    return e;
  }
  ExprPtr not_expr() {
    Nested nested(depth_, peek().line);
    if (at_name("not")) {
      const int line = next().line;
      auto e = make(Expr::Kind::Unary, line);
      e->op = "not";
      e->a = not_expr();
      return e;
    }
    return compare();
  }
  ExprPtr compare() {
    ExprPtr e = concat();
    for (;;) {
      if (peek().kind == Token::Kind::Op &&
          (at_op("==") || at_op("!=") || at_op("<") || at_op(">") || at_op("<=") || at_op(">="))) {
        const std::string op = next().text;
        e = binary(op, std::move(e), concat());
      } else if (at_name("in")) {
        next();
        e = binary("in", std::move(e), concat());
      } else if (at_name("not") && peek(1).kind == Token::Kind::Name && peek(1).text == "in") {
        i_ += 2;
        e = binary("not in", std::move(e), concat());
      } else {
        return e;
      }
    }
  }
  ExprPtr concat() {
    ExprPtr e = sum();
    while (accept_op("~")) e = binary("~", std::move(e), sum());
    return e;
  }
  ExprPtr sum() {
    ExprPtr e = product();
    while (at_op("+") || at_op("-")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), product());
    }
    return e;
  }
  ExprPtr product() {
    ExprPtr e = power();
    while (at_op("*") || at_op("/") || at_op("//") || at_op("%")) {
      const std::string op = next().text;
      e = binary(op, std::move(e), power());
    }
    return e;
  }
  ExprPtr power() {
    ExprPtr e = unary();
    while (accept_op("**")) e = binary("**", std::move(e), unary());
    return e;
  }
  // As Jinja: filters apply to the signed value ("-3 | abs" is 3).
  ExprPtr unary(bool with_filters = true) {
    Nested nested(depth_, peek().line);  // "- - - - x" and "not not not x" nest too
    ExprPtr e;
    if (at_op("-") || at_op("+")) {
      const Token& t = next();
      e = make(Expr::Kind::Unary, t.line);
      e->op = t.text;
      e->a = unary(false);
    } else {
      e = postfix(primary());
    }
    return with_filters ? filtered(std::move(e)) : std::move(e);
  }
  // x | filter(args) and x is [not] test(args), in the order written.
  ExprPtr filtered(ExprPtr e) {
    for (;;) {
      if (accept_op("|")) {
        auto f = make(Expr::Kind::Filter, e->line);
        f->name = expect_name();
        f->items.push_back(std::move(e));
        if (accept_op("(")) arguments(*f);
        e = postfix(std::move(f));
      } else if (at_name("is")) {
        next();
        auto t = make(Expr::Kind::Test, e->line);
        t->negated = accept_name("not");
        // Tests named by keywords ("is none", "is true").
        if (peek().kind != Token::Kind::Name) fail(peek().line, "expected a test name after 'is'");
        t->name = next().text;
        t->items.push_back(std::move(e));
        if (accept_op("(")) {
          arguments(*t);
        } else if (peek().kind == Token::Kind::String || peek().kind == Token::Kind::Int || peek().kind == Token::Kind::Float ||
                   (peek().kind == Token::Kind::Name && !at_name("and") && !at_name("or") && !at_name("else") && !at_name("if") &&
                    !at_name("in") && !at_name("not") && !at_name("is"))) {
          t->items.push_back(postfix(primary()));  // "is divisibleby 3", "is sameas x"
        }
        e = std::move(t);
      } else {
        return e;
      }
    }
  }
  // Positional and keyword arguments up to ")" into items (after what is there) and kwargs.
  void arguments(Expr& call) {
    while (!accept_op(")")) {
      if (peek().kind == Token::Kind::Name && peek(1).kind == Token::Kind::Op && peek(1).text == "=") {
        std::string key = next().text;
        next();
        call.kwargs.emplace_back(std::move(key), expression());
      } else {
        call.items.push_back(expression());
      }
      if (!at_op(")")) expect_op(",");
    }
  }
  ExprPtr postfix(ExprPtr e) {
    for (;;) {
      if (accept_op(".")) {
        auto a = make(Expr::Kind::Attr, e->line);
        a->a = std::move(e);
        if (peek().kind == Token::Kind::Int) {  // x.0: an index
          a->kind = Expr::Kind::Index;
          a->b = make(Expr::Kind::Literal, a->line);
          a->b->value = int64_t(std::strtoll(next().text.c_str(), nullptr, 10));
        } else {
          a->name = expect_name();
        }
        e = std::move(a);
      } else if (accept_op("[")) {
        e = subscript(std::move(e));
      } else if (accept_op("(")) {
        auto c = make(Expr::Kind::Call, e->line);
        c->a = std::move(e);
        arguments(*c);
        e = std::move(c);
      } else {
        return e;
      }
    }
  }
  ExprPtr subscript(ExprPtr object) {
    ExprPtr parts[3];
    int colons = 0;
    for (;;) {
      if (accept_op("]")) break;
      if (accept_op(":")) {
        if (++colons > 2) fail(peek().line, "a slice has at most two ':'");
        continue;
      }
      if (parts[colons]) fail(peek().line, "expected ':' or ']' in a subscript");
      parts[colons] = expression();
    }
    if (colons == 0) {
      if (!parts[0]) fail(object->line, "an empty subscript");
      auto e = make(Expr::Kind::Index, object->line);
      e->a = std::move(object);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = make(Expr::Kind::Slice, object->line);
    e->a = std::move(object);
    for (auto& p : parts) e->items.push_back(std::move(p));
    return e;
  }
  ExprPtr primary() {
    const Token& t = next();
    auto literal = [&](Value v) {
      auto e = make(Expr::Kind::Literal, t.line);
      e->value = std::move(v);
      return e;
    };
    switch (t.kind) {
      case Token::Kind::String: {
        std::string s = t.text;
        while (peek().kind == Token::Kind::String) s += next().text;  // adjacent literals join
        return literal(s);
      }
      case Token::Kind::Int: return literal(int64_t(std::strtoll(t.text.c_str(), nullptr, 10)));
      case Token::Kind::Float: return literal(std::strtod(t.text.c_str(), nullptr));
      case Token::Kind::Name:
        if (t.text == "true" || t.text == "True") return literal(true);
        if (t.text == "false" || t.text == "False") return literal(false);
        if (t.text == "none" || t.text == "None") return literal(nullptr);
        {
          auto e = make(Expr::Kind::Name, t.line);
          e->name = t.text;
          return e;
        }
      case Token::Kind::Op:
        if (t.text == "(") {
          ExprPtr first = expression();
          if (accept_op(")")) return first;
          auto tuple = make(Expr::Kind::List, t.line);  // a tuple: a list here
          tuple->items.push_back(std::move(first));
          while (accept_op(",")) {
            if (at_op(")")) break;
            tuple->items.push_back(expression());
          }
          expect_op(")");
          return tuple;
        }
        if (t.text == "[") {
          auto list = make(Expr::Kind::List, t.line);
          while (!accept_op("]")) {
            list->items.push_back(expression());
            if (!at_op("]")) expect_op(",");
          }
          return list;
        }
        if (t.text == "{") {
          auto dict = make(Expr::Kind::Dict, t.line);
          while (!accept_op("}")) {
            dict->items.push_back(expression());
            expect_op(":");
            dict->items.push_back(expression());
            if (!at_op("}")) expect_op(",");
          }
          return dict;
        }
        break;
      default: break;
    }
    fail(t.line, "unexpected " + describe(t) + " in an expression");
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(std::string_view source) { return Parser(Lexer(source).run()).parse_template(); }

}  // namespace vkllm::jinja
