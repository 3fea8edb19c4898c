// The pull parser large tokenizer.json files are read with: every value type, escapes and
// surrogate pairs decoded, and malformed text refused with its line, never read past.
#include "host/json_reader.h"
#include "tests/test_util.h"

using namespace vkllm;

TEST_SUITE_BEGIN("host");

TEST_CASE("the JSON reader reads every value type and decodes escapes") {
  JsonReader r(R"( {"s": "plain", "e": "a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00", "i": -42, "f": 2.5e3,
                    "t": true, "n": null, "a": [1, [], {}], "skip": {"x": [1, 2, {"y": "z"}]}} )",
               "doc");
  int members = 0;
  r.object([&](std::string_view key) {
    ++members;
    if (key == "s") CHECK(r.string() == "plain");
    if (key == "e") CHECK(r.string() == "a\"b\\c/d\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
    if (key == "i") CHECK(r.integer() == -42);
    if (key == "f") CHECK(r.number() == 2500.0);
    if (key == "t") CHECK(r.boolean());
    if (key == "n") CHECK(r.null());
    if (key == "a") {
      int elements = 0;
      r.array([&] {
        ++elements;
        if (elements == 1) CHECK(r.integer() == 1);
        else CHECK(r.raw().size() == 2);
      });
      CHECK(elements == 3);
    }
    if (key == "skip") CHECK(r.raw() == R"({"x": [1, 2, {"y": "z"}]})");
  });
  r.end();
  CHECK(members == 8);
}

TEST_CASE("the JSON reader refuses malformed text with its line") {
  auto error = [](const std::string& text) {
    JsonReader r(text, "bad.json");
    try {
      r.skip();
      r.end();
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error("{\n\"a\": tru}").find("bad.json: not valid JSON at line 2") == 0);
  CHECK(error("\"unterminated").find("unterminated string") != std::string::npos);
  CHECK(error(R"("\ud800")").find("high surrogate without its low half") != std::string::npos);
  CHECK(error(R"("\udc00")").find("lone low surrogate") != std::string::npos);
  CHECK(error(R"("\u12")").find("\\u escape") != std::string::npos);
  CHECK(error(R"("\q")").find("unknown escape") != std::string::npos);
  CHECK(error("\"a\tb\"").find("control character") != std::string::npos);
  CHECK(error("[1, 2").find("expected ']'") != std::string::npos);
  CHECK(error("{\"a\" 1}").find("expected ':'") != std::string::npos);
  CHECK(error("[1] 2").find("text after the value") != std::string::npos);
  CHECK(error("").find("unexpected end of text") != std::string::npos);
  CHECK(error(std::string(100000, '[')).find("nested deeper than") != std::string::npos);
  JsonReader r("1.5", "x");
  CHECK_THROWS_WITH_AS(r.integer(), doctest::Contains("expected an integer, not a fraction"), Error);
}

TEST_SUITE_END();
