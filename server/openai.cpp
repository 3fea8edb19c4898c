#include "server/openai.h"

#include <atomic>
#include <cmath>
#include <ctime>
#include <random>

namespace vkllm::openai {

namespace {

[[noreturn]] void invalid(const std::string& param, const std::string& message, const std::string& code = "invalid_value") {
  throw ApiError{400, message, "invalid_request_error", param, code};
}

// A field of the body: absent and null are "not given"; a present one must have its type.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  return it == body.end() || it->is_null() ? nullptr : &*it;
}

double number(const json& body, const char* name, double fallback, double lo, double hi) {
  const json* f = field(body, name);
  if (!f) return fallback;
  if (!f->is_number()) invalid(name, std::string(name) + " must be a number", "invalid_type");
  const double v = f->get<double>();
  if (!(v >= lo && v <= hi)) invalid(name, std::string(name) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

std::optional<int64_t> integer(const json& body, const char* name, int64_t lo, int64_t hi) {
  const json* f = field(body, name);
  if (!f) return std::nullopt;
  if (!f->is_number_integer()) invalid(name, std::string(name) + " must be an integer", "invalid_type");
  const int64_t v = f->get<int64_t>();
  if (v < lo || v > hi) invalid(name, std::string(name) + " must be between " + std::to_string(lo) + " and " + std::to_string(hi));
  return v;
}

bool boolean(const json& body, const char* name) {
  const json* f = field(body, name);
  if (!f) return false;
  if (!f->is_boolean()) invalid(name, std::string(name) + " must be a boolean", "invalid_type");
  return f->get<bool>();
}

std::vector<std::string> stops(const json& body) {
  const json* f = field(body, "stop");
  if (!f) return {};
  if (f->is_string()) return {f->get<std::string>()};
  if (!f->is_array()) invalid("stop", "stop must be a string or a list of strings", "invalid_type");
  if (f->size() > 4) invalid("stop", "stop takes at most 4 strings");
  std::vector<std::string> out;
  for (const json& s : *f) {
    if (!s.is_string()) invalid("stop", "stop must be a string or a list of strings", "invalid_type");
    out.push_back(s.get<std::string>());
  }
  return out;
}

std::vector<int32_t> completion_prompt(const json& body, const Tokenizer* tokenizer) {
  const json* p = field(body, "prompt");
  if (!p) invalid("prompt", "prompt is required", "missing_required_parameter");
  // One prompt: a string, a list holding one string, or token ids.
  const json* text = p->is_string() ? p : p->is_array() && p->size() == 1 && (*p)[0].is_string() ? &(*p)[0] : nullptr;
  if (text) {
    if (!tokenizer) invalid("prompt", "the model has no tokenizer: give the prompt as token ids");
    return tokenizer->encode(text->get<std::string>(), true, true);
  }
  if (p->is_array() && !p->empty() && std::all_of(p->begin(), p->end(), [](const json& t) { return t.is_number_integer(); }))
    return p->get<std::vector<int32_t>>();
  if (p->is_array() && p->size() > 1 && (*p)[0].is_string()) invalid("prompt", "one prompt per request is supported");
  invalid("prompt", "prompt must be a string or a list of token ids", "invalid_type");
}

std::string random_id(const char* prefix) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t start = std::random_device{}();
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s-%016llx", prefix, static_cast<unsigned long long>(start + counter++));
  return buf;
}

}  // namespace

json error_body(const ApiError& e) {
  return {{"error",
           {{"message", e.message},
            {"type", e.type},
            {"param", e.param.empty() ? json(nullptr) : json(e.param)},
            {"code", e.code.empty() ? json(nullptr) : json(e.code)}}}};
}

Request parse_request(const json& body, bool chat, const Tokenizer* tokenizer, const ChatTemplate* chat_template, int64_t context) {
  if (!body.is_object()) throw ApiError{400, "the request body must be a JSON object"};
  Request r;
  r.chat = chat;
  if (const json* m = field(body, "model"); m && !m->is_string()) invalid("model", "model must be a string", "invalid_type");
  if (auto n = integer(body, "n", 1, 128); n && *n != 1) invalid("n", "only n = 1 is supported");
  if (chat) {
    const json* messages = field(body, "messages");
    if (!messages) invalid("messages", "messages is required", "missing_required_parameter");
    if (!messages->is_array() || messages->empty()) invalid("messages", "messages must be a non-empty list", "invalid_type");
    for (size_t i = 0; i < messages->size(); ++i) {
      const json& m = (*messages)[i];
      const std::string at = "messages[" + std::to_string(i) + "]";
      if (!m.is_object() || !m.contains("role") || !m["role"].is_string()) invalid(at, at + " needs a string role", "invalid_type");
      if (m.contains("content") && !m["content"].is_null() && !m["content"].is_string() && !m["content"].is_array())
        invalid(at + ".content", at + ".content must be a string or a list of parts", "invalid_type");
    }
    if (!chat_template) invalid("messages", "the model has no chat template; use /v1/completions");
    const json* tools = field(body, "tools");
    if (tools && !tools->is_array()) invalid("tools", "tools must be a list", "invalid_type");
    try {
      r.job.prompt = chat_template->encode(*messages, true, tools ? *tools : json());
    } catch (const std::exception& e) {
      invalid("messages", std::string("the chat template refused the messages: ") + e.what());
    }
  } else {
    r.job.prompt = completion_prompt(body, tokenizer);
  }
  if (r.job.prompt.empty()) invalid(chat ? "messages" : "prompt", "the prompt has no tokens");

  GenerateOptions& g = r.job.options;
  const int64_t room = context - int64_t(r.job.prompt.size());
  if (room <= 0)
    throw ApiError{400,
                   "the prompt's " + std::to_string(r.job.prompt.size()) + " tokens exceed the context of " + std::to_string(context) + " tokens",
                   "invalid_request_error", chat ? "messages" : "prompt", "context_length_exceeded"};
  std::optional<int64_t> max = integer(body, "max_tokens", 0, INT32_MAX);
  if (chat && !max) max = integer(body, "max_completion_tokens", 0, INT32_MAX);
  g.max_tokens = int(max ? *max : chat ? room : std::min<int64_t>(16, room));  // OpenAI's completions default: 16
  if (g.max_tokens > room)
    throw ApiError{400,
                   "the prompt's " + std::to_string(r.job.prompt.size()) + " tokens + max_tokens " + std::to_string(g.max_tokens) +
                       " exceed the context of " + std::to_string(context) + " tokens",
                   "invalid_request_error", "max_tokens", "context_length_exceeded"};
  // OpenAI's sampling: the model's distribution unless asked otherwise.
  g.sampling = SamplerOptions::unfiltered(0);
  g.sampling.temperature = float(number(body, "temperature", 1.0, 0.0, 2.0));
  g.sampling.top_p = float(number(body, "top_p", 1.0, 0.0, 1.0));
  if (g.sampling.top_p <= 0) g.sampling.top_p = 1e-6f;  // top_p 0: the most likely token alone
  g.sampling.frequency_penalty = float(number(body, "frequency_penalty", 0.0, -2.0, 2.0));
  g.sampling.presence_penalty = float(number(body, "presence_penalty", 0.0, -2.0, 2.0));
  g.sampling.penalty_last_n = -1;
  const std::optional<int64_t> seed = integer(body, "seed", INT64_MIN, INT64_MAX);
  g.sampling.seed = seed ? uint32_t(uint64_t(*seed)) : std::random_device{}();
  g.stop = stops(body);
  if (!g.stop.empty() && !tokenizer) invalid("stop", "the model has no tokenizer: stop strings need one");
  r.stream = boolean(body, "stream");
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) invalid("stream_options", "stream_options must be an object", "invalid_type");
    r.include_usage = boolean(*so, "include_usage");
  }
  if (chat) {
    r.logprobs = boolean(body, "logprobs");
    const std::optional<int64_t> top = integer(body, "top_logprobs", 0, 20);
    if (top && !r.logprobs) invalid("top_logprobs", "top_logprobs needs logprobs: true");
    if (r.logprobs) g.top_logprobs = int(top.value_or(0));
  } else if (const std::optional<int64_t> top = integer(body, "logprobs", 0, 5)) {
    r.logprobs = true;
    g.top_logprobs = int(*top);
  }
  if (boolean(body, "echo")) invalid("echo", "echo is not supported");
  return r;
}

Response::Response(const Request& request, std::string model, const Tokenizer* tokenizer)
    : request_(request), model_(std::move(model)), id_(random_id(request.chat ? "chatcmpl" : "cmpl")), tokenizer_(tokenizer),
      created_(int64_t(std::time(nullptr))) {}

json Response::base(const char* object) const { return {{"id", id_}, {"object", object}, {"created", created_}, {"model", model_}}; }

const char* Response::finish_reason(const JobEvent& end) { return end.stop == GenerateResult::Stop::MaxTokens ? "length" : "stop"; }

json Response::usage(const JobEvent& end) const {
  return {{"prompt_tokens", end.prompt_tokens},
          {"completion_tokens", end.completion_tokens},
          {"total_tokens", end.prompt_tokens + end.completion_tokens},
          {"prompt_tokens_details", {{"cached_tokens", end.cached_tokens}}}};
}

json Response::logprobs_of(const std::vector<TokenLogprob>& l, size_t text_offset) const {
  auto text = [&](int32_t t) { return tokenizer_ ? tokenizer_->piece(t) : std::to_string(t); };
  auto bytes = [&](const std::string& s) {
    json b = json::array();
    for (unsigned char c : s) b.push_back(int(c));
    return b;
  };
  if (request_.chat) {
    json content = json::array();
    for (const TokenLogprob& t : l) {
      json top = json::array();
      for (const auto& [id, lp] : t.top) top.push_back({{"token", text(id)}, {"logprob", lp}, {"bytes", bytes(text(id))}});
      content.push_back({{"token", text(t.token)}, {"logprob", t.logprob}, {"bytes", bytes(text(t.token))}, {"top_logprobs", top}});
    }
    return {{"content", content}};
  }
  json tokens = json::array(), token_logprobs = json::array(), top_logprobs = json::array(), offsets = json::array();
  for (const TokenLogprob& t : l) {
    tokens.push_back(text(t.token));
    token_logprobs.push_back(t.logprob);
    json top = json::object();
    for (const auto& [id, lp] : t.top) top[text(id)] = lp;
    top_logprobs.push_back(top);
    offsets.push_back(text_offset);
    text_offset += text(t.token).size();
  }
  return {{"tokens", tokens}, {"token_logprobs", token_logprobs}, {"top_logprobs", top_logprobs}, {"text_offset", offsets}};
}

json Response::chunk(const JobEvent& e) {
  const std::vector<TokenLogprob> lp = e.logprob ? std::vector<TokenLogprob>{*e.logprob} : std::vector<TokenLogprob>{};
  json c = base(request_.chat ? "chat.completion.chunk" : "text_completion");
  json choice = {{"index", 0}};
  if (request_.chat) {
    json delta = json::object();
    if (first_) delta["role"] = "assistant";
    delta["content"] = e.text;
    choice["delta"] = delta;
  } else {
    choice["text"] = e.text;
  }
  choice["logprobs"] = request_.logprobs ? logprobs_of(lp, text_offset_) : json(nullptr);
  choice["finish_reason"] = nullptr;
  text_offset_ += e.text.size();
  first_ = false;
  c["choices"] = json::array({choice});
  return c;
}

json Response::final_chunk(const JobEvent& end) {
  json c = base(request_.chat ? "chat.completion.chunk" : "text_completion");
  json choice = {{"index", 0}};
  if (request_.chat) choice["delta"] = first_ ? json{{"role", "assistant"}, {"content", ""}} : json::object();
  else choice["text"] = "";
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish_reason(end);
  c["choices"] = json::array({choice});
  return c;
}

json Response::usage_chunk(const JobEvent& end) const {
  json c = base(request_.chat ? "chat.completion.chunk" : "text_completion");
  c["choices"] = json::array();
  c["usage"] = usage(end);
  return c;
}

json Response::whole(const std::string& text, const std::vector<TokenLogprob>& logprobs, const JobEvent& end) const {
  json r = base(request_.chat ? "chat.completion" : "text_completion");
  json choice = {{"index", 0}};
  if (request_.chat) choice["message"] = {{"role", "assistant"}, {"content", text}};
  else choice["text"] = text;
  choice["logprobs"] = request_.logprobs ? logprobs_of(logprobs, 0) : json(nullptr);
  choice["finish_reason"] = finish_reason(end);
  r["choices"] = json::array({choice});
  r["usage"] = usage(end);
  return r;
}

}  // namespace vkllm::openai
