// `vkllm serve` over loopback: the OpenAI endpoints and their errors, streaming, seeded
// repeats, stop strings, prefix reuse, a client that leaves mid-stream, and many concurrent
// streams each equal to the same request run alone.
#include <atomic>
#include <chrono>
#include <thread>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "models/load.h"
#include "server/server.h"
#include "tests/models/synthetic.h"
#include "tests/test_util.h"

using namespace vkllm;
using namespace vkllm::test;
using json = nlohmann::ordered_json;

TEST_SUITE_BEGIN("end_to_end");

namespace {

const char* kTemplate = "{{ bos_token }}{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}";

// A small model with a chat template, served on a free loopback port for one test case.
struct LiveServer {
  LoadedModel loaded;
  std::unique_ptr<Server> server;
  std::thread thread;
  int port = 0;

  explicit LiveServer(SchedulerOptions s = {}) {
    SyntheticModel m = small_model("llama", "f32");
    m.context = 256;
    m.chat_template = kTemplate;
    loaded = load_synthetic(m);
    ServerOptions o;
    o.port = 0;
    o.model_name = "tiny";
    o.scheduler = s;
    server = std::make_unique<Server>(*loaded.model, &*loaded.tokenizer, o);
    port = server->bind();
    thread = std::thread([this] { server->listen(); });
  }
  ~LiveServer() {
    server->stop();
    thread.join();
  }
  httplib::Client client() const {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(60, 0);
    return c;
  }
  json post(const std::string& path, const json& body, int expect = 200) const {
    auto res = client().Post(path, body.dump(), "application/json");
    REQUIRE(res);
    CHECK_MESSAGE(res->status == expect, res->body);
    return json::parse(res->body);
  }
  // A streamed completion's text, from its server-sent events. (Called from several threads:
  // CHECK, not REQUIRE, which may only throw on the test's own thread.)
  std::string stream_text(const std::string& path, json body) const {
    body["stream"] = true;
    auto res = client().Post(path, body.dump(), "application/json");
    CHECK_MESSAGE(res, "no response: " << httplib::to_string(res.error()));
    if (!res) return "(no response)";
    CHECK_MESSAGE(res->status == 200, res->body);
    if (res->status != 200) return "(error)";
    std::string text;
    bool done = false;
    size_t at = 0;
    while ((at = res->body.find("data: ", at)) != std::string::npos) {
      const size_t end = res->body.find("\n\n", at);
      const std::string data = res->body.substr(at + 6, end - at - 6);
      at = end;
      if (data == "[DONE]") {
        done = true;
        break;
      }
      const json chunk = json::parse(data);
      CHECK_FALSE(chunk.contains("error"));
      if (chunk.contains("error")) return "(error)";
      const json& choice = chunk["choices"][0];
      text += path.find("chat") != std::string::npos ? choice["delta"].value("content", "") : choice["text"].get<std::string>();
    }
    CHECK(done);
    return text;
  }
};

json chat_body(const std::string& content, int max_tokens, uint32_t seed) {
  return {{"model", "tiny"}, {"messages", json::array({{{"role", "user"}, {"content", content}}})}, {"max_tokens", max_tokens}, {"seed", seed}};
}

}  // namespace

TEST_CASE_FIXTURE(GpuTest, "/health reports the slots' K/V types, bytes per token, allocated and in use") {
  LiveServer live({.parallel = 2, .context = 64, .kv_types = {DType::Q8_0, DType::Q4_0}});
  // A token: 2 layers x (a K row of one q8_0 block, 32 bytes and a scale word, and a V row
  // of one q4_0 block, 16 bytes and a scale word).
  const uint64_t per_token = 2 * ((32 + 4) + (16 + 4));
  json h = json::parse(live.client().Get("/health")->body);
  CHECK(h["kv_type_k"] == "q8_0");
  CHECK(h["kv_type_v"] == "q4_0");
  CHECK(h["kv_bytes_per_token"] == per_token);
  CHECK(h["kv_bytes_allocated"] == per_token * 64 * 2);
  CHECK(h["kv_bytes_in_use"] == 0);
  const json done = live.post("/v1/completions", {{"prompt", "once upon"}, {"max_tokens", 4}, {"seed", 1}});
  const uint64_t tokens = done["usage"]["prompt_tokens"].get<uint64_t>() + done["usage"]["completion_tokens"].get<uint64_t>();
  // Updated after each step of the worker: the completion's slot keeps what it decoded.
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while ((h = json::parse(live.client().Get("/health")->body))["kv_bytes_in_use"] == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  const uint64_t in_use = h["kv_bytes_in_use"];
  CHECK(in_use % per_token == 0);
  CHECK(in_use / per_token >= tokens - 1);  // the last sampled token is not decoded
  CHECK(in_use / per_token <= tokens);
}

TEST_CASE_FIXTURE(GpuTest, "vkllm serve answers the OpenAI endpoints, whole and streamed") {
  LiveServer live;
  auto health = live.client().Get("/health");
  REQUIRE(health);
  CHECK(json::parse(health->body)["status"] == "ok");
  CHECK(json::parse(live.client().Get("/v1/models")->body)["data"][0]["id"] == "tiny");

  const json chat = live.post("/v1/chat/completions", chat_body("hello", 6, 7));
  CHECK(chat["object"] == "chat.completion");
  CHECK(chat["choices"][0]["message"]["role"] == "assistant");
  CHECK(chat["choices"][0]["finish_reason"] == "length");
  CHECK(chat["usage"]["completion_tokens"] == 6);
  // The same seed, the same text; streamed, the same again.
  CHECK(live.post("/v1/chat/completions", chat_body("hello", 6, 7))["choices"][0]["message"]["content"] == chat["choices"][0]["message"]["content"]);
  CHECK(live.stream_text("/v1/chat/completions", chat_body("hello", 6, 7)) == chat["choices"][0]["message"]["content"]);

  const json completion = live.post("/v1/completions", {{"prompt", "once upon"}, {"max_tokens", 5}, {"seed", 3}, {"logprobs", 2}});
  CHECK(completion["object"] == "text_completion");
  const json& lp = completion["choices"][0]["logprobs"];
  CHECK(lp["token_logprobs"].size() == 5);
  CHECK(lp["top_logprobs"][0].size() <= 2);
  for (const json& l : lp["token_logprobs"]) CHECK(l.get<double>() <= 0.0);

  // Tokenize and detokenize round trip.
  const json ids = live.post("/tokenize", {{"content", "abc"}});
  CHECK(std::string(live.post("/detokenize", {{"tokens", ids["tokens"]}})["content"]).ends_with("abc"));
}

TEST_CASE_FIXTURE(GpuTest, "vkllm serve stops before stop strings") {
  LiveServer live;
  const json free = live.post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 12}, {"seed", 5}});
  const std::string text = free["choices"][0]["text"];
  // An ASCII character from inside the free text (a random model also writes partial bytes).
  size_t at = 1;
  while (at < text.size() && static_cast<unsigned char>(text[at]) >= 0x80) ++at;
  REQUIRE(at < text.size());
  const std::string stop = text.substr(at, 1);
  const json stopped = live.post("/v1/completions", {{"prompt", "abc"}, {"max_tokens", 12}, {"seed", 5}, {"stop", json::array({stop})}});
  CHECK(stopped["choices"][0]["finish_reason"] == "stop");
  CHECK(stopped["choices"][0]["text"] == text.substr(0, text.find(stop)));
}

TEST_CASE_FIXTURE(GpuTest, "vkllm serve refuses bad requests in OpenAI's error shape") {
  LiveServer live({.parallel = 1, .max_queued = 0});
  auto raw = live.client().Post("/v1/chat/completions", "{not json", "application/json");
  REQUIRE(raw);
  CHECK(raw->status == 400);
  CHECK(json::parse(raw->body)["error"]["code"] == "invalid_json");
  json e = live.post("/v1/chat/completions", {{"messages", "hi"}}, 400);
  CHECK(e["error"]["param"] == "messages");
  e = live.post("/v1/completions", {{"prompt", "hi"}, {"temperature", "hot"}}, 400);
  CHECK(e["error"]["param"] == "temperature");
  CHECK(e["error"]["type"] == "invalid_request_error");
  e = live.post("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 1000}}, 400);
  CHECK(e["error"]["code"] == "context_length_exceeded");
  e = live.post("/v1/completions", {{"prompt", json::array({1, 2, 999999})}}, 400);
  CHECK(std::string(e["error"]["message"]).find("999999") != std::string::npos);
  CHECK(live.client().Get("/v2/nothing")->status == 404);

  // One slot and no queue: a second request while the first streams is refused with 429.
  std::atomic<bool> first_done{false};
  std::thread first([&] {
    live.stream_text("/v1/completions", {{"prompt", "hi"}, {"max_tokens", 120}, {"seed", 1}});
    first_done = true;
  });
  while (json::parse(live.client().Get("/health")->body)["slots_busy"] == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  auto busy = live.client().Post("/v1/completions", json{{"prompt", "x"}, {"max_tokens", 1}}.dump(), "application/json");
  REQUIRE(busy);
  if (!first_done) {
    CHECK(busy->status == 429);
    CHECK(json::parse(busy->body)["error"]["code"] == "server_busy");
  }
  first.join();
}

TEST_CASE_FIXTURE(GpuTest, "vkllm serve reuses a cached prompt prefix and frees a slot whose client left") {
  LiveServer live({.parallel = 2});
  const std::string document(120, 'a');
  const json first = live.post("/v1/completions", {{"prompt", document + " first"}, {"max_tokens", 4}, {"seed", 1}});
  CHECK(first["usage"]["prompt_tokens_details"]["cached_tokens"] == 0);
  const json second = live.post("/v1/completions", {{"prompt", document + " second"}, {"max_tokens", 4}, {"seed", 1}});
  CHECK(second["usage"]["prompt_tokens_details"]["cached_tokens"].get<int>() >= 100);
  // The reused prefix gives what computing it whole gives.
  LiveServer cold({.parallel = 2, .prefix_reuse = false});
  const json whole = cold.post("/v1/completions", {{"prompt", document + " second"}, {"max_tokens", 4}, {"seed", 1}});
  CHECK(whole["usage"]["prompt_tokens_details"]["cached_tokens"] == 0);
  CHECK(whole["choices"][0]["text"] == second["choices"][0]["text"]);

  // A streaming client that disconnects after its first event: the slot comes back.
  {
    httplib::Client c = live.client();
    httplib::Request req;
    req.method = "POST";
    req.path = "/v1/completions";
    req.set_header("Content-Type", "application/json");
    req.body = json{{"prompt", "leave"}, {"max_tokens", 200}, {"stream", true}}.dump();
    int events = 0;
    req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++events < 2; };
    c.send(req);
  }
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (json::parse(live.client().Get("/health")->body)["slots_busy"] != 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(json::parse(live.client().Get("/health")->body)["slots_busy"] == 0);
}

TEST_CASE_FIXTURE(GpuTest, "16 concurrent streams x 8 requests each all complete, each as it runs alone") {
  LiveServer live({.parallel = 4, .max_queued = 16});
  constexpr int kClients = 16, kRequests = 8;
  auto body = [](int client, int request) {
    return chat_body("client " + std::to_string(client) + " request " + std::to_string(request), 6 + (client + request) % 5,
                     uint32_t(1000 + client * kRequests + request));
  };
  std::vector<std::vector<std::string>> got(kClients, std::vector<std::string>(kRequests));
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      for (int r = 0; r < kRequests; ++r) got[size_t(c)][size_t(r)] = live.stream_text("/v1/chat/completions", body(c, r));
    });
  for (std::thread& t : clients) t.join();
  // Alone, one at a time, on a server that reuses nothing.
  LiveServer alone({.parallel = 1, .prefix_reuse = false});
  int same = 0;
  for (int c = 0; c < kClients; ++c)
    for (int r = 0; r < kRequests; ++r) {
      const json one = alone.post("/v1/chat/completions", body(c, r));
      same += one["choices"][0]["message"]["content"] == got[size_t(c)][size_t(r)];
    }
  CHECK(same == kClients * kRequests);
}
