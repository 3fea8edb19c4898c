#pragma once
// `vkllm serve`'s HTTP side: OpenAI's /v1/completions and /v1/chat/completions (streaming as
// server-sent events, or whole), /v1/models, /health, /tokenize and /detokenize, over a
// Scheduler. Errors use OpenAI's body ({"error": {"message", "type", "param", "code"}}) and
// status: 400 for bad requests (malformed JSON, a field of the wrong type, a prompt past the
// context), 429 when every slot is busy and the queue is full, 404 for unknown paths.
#include <memory>
#include <string>

#include "server/scheduler.h"

namespace vkllm {

class ChatTemplate;

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;  // 0: any free port (bind() says which)
  std::string model_name = "vkllm";  // what /v1/models lists and responses name
  SchedulerOptions scheduler;
};

class Server {
 public:
  Server(Model& model, const Tokenizer* tokenizer, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();       // Error where the address cannot be bound; returns the port
  void listen();    // serves until stop()
  void stop();      // from any thread
  Scheduler& scheduler();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace vkllm
