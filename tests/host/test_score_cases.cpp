// `vkllm score` case lines: fields, named prefixes, the random control, and clear refusals.
#include <nlohmann/json.hpp>

#include "host/research/score_cases.h"
#include "tests/test_util.h"

using namespace vkllm;
using nlohmann::json;

TEST_SUITE_BEGIN("host");

TEST_CASE("score cases: token fields, named prefixes and a seeded random prefix that avoids reserved ids") {
  const json j = json::parse(R"({"id":"a","bos":1,"prefix":[5,6,7,8],"document":[10,11],"query":[20],"answer":[30,31],
                                  "prefixes":{"other":[40]}})");
  const RandomPrefix random{9, 4, {2, 3}};  // ids 0..3: only 0 is neither BOS nor reserved
  const auto v = score_variants(j, nullptr, random, 1);
  REQUIRE(v.size() == 3);
  CHECK(v[0].prefix_name == "prefix");
  CHECK(v[0].c.bos == 1);
  CHECK(v[0].c.prefix == std::vector<int32_t>{5, 6, 7, 8});
  CHECK(v[0].c.answer == std::vector<int32_t>{30, 31});
  CHECK(v[1].prefix_name == "other");
  CHECK(v[1].c.prefix == std::vector<int32_t>{40});
  CHECK(v[1].c.document == v[0].c.document);
  CHECK(v[2].prefix_name == "random");
  CHECK(v[2].c.prefix == std::vector<int32_t>{0, 0, 0, 0});
  CHECK(score_variants(j, nullptr, RandomPrefix{9, 300, {}}, 1)[2].c.prefix ==
        score_variants(j, nullptr, RandomPrefix{9, 300, {}}, 1)[2].c.prefix);  // seeded
}

TEST_CASE("score cases: a missing or mistyped field, an id past 32 bits, or no id left is an error naming it") {
  auto error_of = [](const std::string& line, std::optional<RandomPrefix> random = std::nullopt) {
    try {
      score_variants(json::parse(line), nullptr, random, 1);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(error_of(R"([1,2])") == "a case must be a JSON object");
  CHECK(error_of(R"({"document":[1],"query":[2],"answer":[3]})").find("'bos'") != std::string::npos);
  CHECK(error_of(R"({"bos":1,"query":[2],"answer":[3]})") == "missing field 'document'");
  CHECK(error_of(R"({"bos":1,"document":[1.5],"query":[2],"answer":[3]})") == "field 'document' holds a non-integer");
  CHECK(error_of(R"({"bos":4294967297,"document":[1],"query":[2],"answer":[3]})") ==
        "field 'bos' holds 4294967297, which is no token id");
  CHECK(error_of(R"({"bos":1,"document":[-2147483649],"query":[2],"answer":[3]})").find("which is no token id") !=
        std::string::npos);
  CHECK(error_of(R"({"bos":1,"document":"text","query":"q","answer":"a"})") == "text cases need a model with a tokenizer");
  CHECK(error_of(R"({"bos":1,"prefixes":[1],"document":[1],"query":[2],"answer":[3]})").find("'prefixes'") !=
        std::string::npos);
  CHECK(error_of(R"({"bos":0,"prefix":[5],"document":[1],"query":[2],"answer":[3]})", RandomPrefix{1, 2, {1}}) ==
        "no token id is left for a random prefix");
}

TEST_SUITE_END();
