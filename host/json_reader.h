#pragma once
// A pull parser over JSON text in memory, for files too large to build a DOM of quickly (a
// 33 MB tokenizer.json: 0.7 s with nlohmann::json, a tenth of that here). Values are read in
// document order; strings come back as views into the text where they hold no escapes.
// Errors name the source and the line.
#include <cstdint>
#include <string>
#include <string_view>

namespace vkllm {

class JsonReader {
 public:
  enum class Type { Null, Boolean, Number, String, Array, Object };

  JsonReader(std::string_view text, std::string source);

  Type peek();  // the type of the next value
  // Calls member(key) for each member of the object that follows; member reads or skips the
  // value. `key` is valid until then.
  template <typename Member>
  void object(Member&& member) {
    if (!open('{', '}')) return;
    do {
      const std::string_view key = member_name();
      member(key);
    } while (next('}'));
  }
  // Calls element() for each element of the array that follows; element reads or skips it.
  template <typename Element>
  void array(Element&& element) {
    if (!open('[', ']')) return;
    do element();
    while (next(']'));
  }
  // Valid until the next string is read.
  std::string_view string();
  int64_t integer();
  double number();
  bool boolean();
  bool null();  // true after reading a null; false (reading nothing) for any other value
  void skip();
  std::string_view raw();  // skips a value and returns its text
  void end();              // nothing but whitespace follows

  [[noreturn]] void fail(const std::string& what) const;

 private:
  void whitespace();
  void expect(char c);
  bool open(char open, char close);  // consumes `open`; false (having consumed `close`) when empty
  bool next(char close);             // after a member or element: true at ',', false at `close`
  std::string_view member_name();    // a member's name and the ':' after it
  std::string_view read_string(std::string& scratch);
  void skip_value(int depth);

  std::string_view text_;
  std::string source_;
  size_t at_ = 0;
  std::string value_scratch_, key_scratch_;
};

}  // namespace vkllm
