#include "server/server.h"

#include <sys/socket.h>

#include <ctime>

#include <httplib.h>

#include "host/chat_template.h"
#include "server/openai.h"

namespace vkllm {

using openai::json;

namespace {

// Token pieces may hold part of a UTF-8 character: replaced rather than refused.
std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

void reply(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(dump(body), "application/json");
}

void reply_error(httplib::Response& res, const openai::ApiError& e) { reply(res, e.status, openai::error_body(e)); }

std::optional<json> parse_body(const httplib::Request& req, httplib::Response& res) {
  try {
    return json::parse(req.body);
  } catch (const json::parse_error& e) {
    reply_error(res, {400, std::string("could not parse the JSON body: ") + e.what(), "invalid_request_error", "", "invalid_json"});
    return std::nullopt;
  }
}

std::string sse(const json& j) { return "data: " + dump(j) + "\n\n"; }

}  // namespace

struct Server::Impl {
  Model& model;
  const Tokenizer* tokenizer;
  ServerOptions options;
  std::optional<ChatTemplate> chat_template;
  Scheduler scheduler;
  httplib::Server http;
  int port = 0;
  socket_t listen_socket = INVALID_SOCKET;

  Impl(Model& m, const Tokenizer* t, ServerOptions o)
      : model(m), tokenizer(t), options(std::move(o)), scheduler(m, t, options.scheduler) {
    if (tokenizer && !tokenizer->vocab().chat_template.empty()) chat_template.emplace(*tokenizer);
    const size_t threads = size_t(options.scheduler.parallel + options.scheduler.max_queued + 4);
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_payload_max_length(16u << 20);
    // httplib listens with a backlog of 5: a burst of clients overflows it and some lose their
    // connection. Note the socket, to listen again with the system's limit after bind.
    http.set_socket_options([this](socket_t sock) {
      httplib::default_socket_options(sock);
      listen_socket = sock;
    });
    http.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
      const Scheduler::Load l = scheduler.load();
      const Scheduler::KvMemory& kv = scheduler.kv_memory();
      reply(res, 200, {{"status", "ok"}, {"slots", scheduler.parallel()}, {"slots_busy", l.busy}, {"queued", l.queued},
                       {"kv_type_k", dtype_name(kv.types.k)}, {"kv_type_v", dtype_name(kv.types.v)},
                       {"kv_bytes_per_token", kv.bytes_per_token}, {"kv_bytes_allocated", kv.bytes_allocated},
                       {"kv_bytes_in_use", l.kv_bytes_in_use}});
    });
    http.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
      reply(res, 200, {{"object", "list"},
                       {"data", json::array({{{"id", options.model_name}, {"object", "model"}, {"created", 0}, {"owned_by", "vkllm"},
                                               {"context_length", scheduler.context()}}})}});
    });
    http.Post("/tokenize", [this](const httplib::Request& req, httplib::Response& res) { tokenize(req, res); });
    http.Post("/detokenize", [this](const httplib::Request& req, httplib::Response& res) { detokenize(req, res); });
    for (const char* path : {"/v1/completions", "/completions"})
      http.Post(path, [this](const httplib::Request& req, httplib::Response& res) { complete(req, res, false); });
    for (const char* path : {"/v1/chat/completions", "/chat/completions"})
      http.Post(path, [this](const httplib::Request& req, httplib::Response& res) { complete(req, res, true); });
    http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
      if (res.status == 404) reply_error(res, {404, "no such endpoint: " + req.method + " " + req.path, "invalid_request_error", "", "not_found"});
    });
  }

  void tokenize(const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req, res);
    if (!body) return;
    if (!tokenizer) return reply_error(res, {400, "the model has no tokenizer"});
    if (!body->is_object() || !body->contains("content") || !(*body)["content"].is_string())
      return reply_error(res, {400, "content must be a string", "invalid_request_error", "content", "invalid_type"});
    const bool add_special = body->value("add_special", false), parse_special = body->value("parse_special", true);
    reply(res, 200, {{"tokens", tokenizer->encode((*body)["content"].get<std::string>(), add_special, parse_special)}});
  }

  void detokenize(const httplib::Request& req, httplib::Response& res) {
    auto body = parse_body(req, res);
    if (!body) return;
    if (!tokenizer) return reply_error(res, {400, "the model has no tokenizer"});
    const json* tokens = body->is_object() && body->contains("tokens") ? &(*body)["tokens"] : nullptr;
    if (!tokens || !tokens->is_array() || !std::all_of(tokens->begin(), tokens->end(), [](const json& t) { return t.is_number_integer(); }))
      return reply_error(res, {400, "tokens must be a list of token ids", "invalid_request_error", "tokens", "invalid_type"});
    const std::vector<int32_t> ids = tokens->get<std::vector<int32_t>>();
    for (int32_t id : ids)
      if (id < 0 || id >= tokenizer->size())
        return reply_error(res, {400, "token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(tokenizer->size()),
                                 "invalid_request_error", "tokens", "invalid_value"});
    reply(res, 200, {{"content", tokenizer->decode(ids)}});
  }

  void complete(const httplib::Request& req, httplib::Response& res, bool chat) {
    auto body = parse_body(req, res);
    if (!body) return;
    openai::Request request;
    std::shared_ptr<JobStream> stream;
    try {
      request = openai::parse_request(*body, chat, tokenizer, chat_template ? &*chat_template : nullptr, scheduler.context());
      stream = scheduler.submit(request.job);
    } catch (const openai::ApiError& e) {
      return reply_error(res, e);
    } catch (const JobRefused& e) {
      if (e.why == JobRefused::Why::Busy) return reply_error(res, {429, e.what(), "rate_limit_error", "", "server_busy"});
      return reply_error(res, {400, e.what(), "invalid_request_error", "max_tokens", "context_length_exceeded"});
    } catch (const std::exception& e) {
      return reply_error(res, {400, e.what()});
    }
    auto response = std::make_shared<openai::Response>(request, options.model_name, tokenizer);
    if (!request.stream) {
      std::string text;
      std::vector<TokenLogprob> logprobs;
      for (;;) {
        JobEvent e = stream->next();
        if (e.end) {
          if (!e.error.empty()) return reply_error(res, {500, e.error, "server_error"});
          return reply(res, 200, response->whole(text, logprobs, e));
        }
        text += e.text;
        if (e.logprob) logprobs.push_back(*e.logprob);
      }
    }
    const bool include_usage = request.include_usage;
    res.set_chunked_content_provider(
        "text/event-stream",
        [stream, response, include_usage](size_t, httplib::DataSink& sink) {
          JobEvent e = stream->next();
          std::string out;
          if (!e.end) {
            out = sse(response->chunk(e));
          } else if (!e.error.empty()) {
            out = sse(openai::error_body({500, e.error, "server_error"})) + "data: [DONE]\n\n";
          } else {
            out = sse(response->final_chunk(e));
            if (include_usage) out += sse(response->usage_chunk(e));
            out += "data: [DONE]\n\n";
          }
          if (!sink.write(out.data(), out.size())) {  // the client is gone
            stream->cancel();
            return false;
          }
          if (e.end) sink.done();
          return true;
        },
        [stream](bool success) {
          if (!success) stream->cancel();
        });
    res.set_header("Cache-Control", "no-cache");
  }
};

Server::Server(Model& model, const Tokenizer* tokenizer, ServerOptions options)
    : impl_(std::make_unique<Impl>(model, tokenizer, std::move(options))) {}

Server::~Server() { stop(); }

int Server::bind() {
  const ServerOptions& o = impl_->options;
  impl_->port = o.port == 0 ? impl_->http.bind_to_any_port(o.host) : (impl_->http.bind_to_port(o.host, o.port) ? o.port : -1);
  if (impl_->port < 0) throw Error("server: cannot listen on " + o.host + ":" + std::to_string(o.port) + " (in use, or not an address here)");
  if (impl_->listen_socket != INVALID_SOCKET) ::listen(impl_->listen_socket, SOMAXCONN);
  return impl_->port;
}

void Server::listen() { impl_->http.listen_after_bind(); }

void Server::stop() {
  if (impl_) impl_->http.stop();
}

Scheduler& Server::scheduler() { return impl_->scheduler; }

}  // namespace vkllm
