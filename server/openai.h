#pragma once
// OpenAI's completion and chat-completion APIs as the scheduler's jobs: requests parsed and
// checked field by field (a field of the wrong type is an error naming it), responses and
// stream chunks in OpenAI's shapes, errors in its {"error": {...}} body.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "host/chat_template.h"
#include "server/scheduler.h"

namespace vkllm::openai {

using json = nlohmann::ordered_json;

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param, code;
};
json error_body(const ApiError& e);

struct Request {
  bool chat = false;
  Job job;
  bool stream = false;
  bool include_usage = false;  // stream_options.include_usage: a last chunk with the usage
  bool logprobs = false;
};

// Throws ApiError. `chat_template` may be null (a model without one: chat requests are refused).
Request parse_request(const json& body, bool chat, const Tokenizer* tokenizer, const ChatTemplate* chat_template, int64_t context);

// The response pieces for one request.
class Response {
 public:
  Response(const Request& request, std::string model, const Tokenizer* tokenizer);
  // A stream chunk carrying one event's text (and logprob); the first chat chunk names the role.
  json chunk(const JobEvent& e);
  // The last stream chunk: the finish reason.
  json final_chunk(const JobEvent& end);
  json usage_chunk(const JobEvent& end) const;
  // The non-streaming body from every event's text.
  json whole(const std::string& text, const std::vector<TokenLogprob>& logprobs, const JobEvent& end) const;

 private:
  json base(const char* object) const;
  json usage(const JobEvent& end) const;
  json logprobs_of(const std::vector<TokenLogprob>& l, size_t text_offset) const;
  static const char* finish_reason(const JobEvent& end);

  Request request_;
  std::string model_, id_;
  const Tokenizer* tokenizer_;
  int64_t created_;
  bool first_ = true;
  size_t text_offset_ = 0;
};

}  // namespace vkllm::openai
