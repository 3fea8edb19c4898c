// `vkllm serve`: an OpenAI-compatible HTTP server for one model (server/server.h).
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "models/load.h"
#include "runtime/device.h"
#include "server/server.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

struct ServeOptions {
  std::string model;
  ServerOptions server;
  bool no_prefix_cache = false;
};

void serve(ServeOptions o) {
  // SIGINT and SIGTERM go to a thread that stops the server (nothing else is safe in a handler).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Device dev;
  LoadedModel loaded = load_model(dev, o.model);
  o.server.model_name = std::filesystem::path(o.model).filename().string();
  o.server.scheduler.prefix_reuse = !o.no_prefix_cache;
  Server server(*loaded.model, loaded.tokenizer ? &*loaded.tokenizer : nullptr, o.server);
  const int port = server.bind();
  std::thread stopper([&] {
    int signal = 0;
    sigwait(&signals, &signal);
    server.stop();
  });
  const Scheduler::KvMemory& kv = server.scheduler().kv_memory();
  std::fprintf(stderr, "vkllm: serving %s on http://%s:%d (%d slots of %lld tokens; K/V %s %s/token, %s allocated)\n",
               o.server.model_name.c_str(), o.server.host.c_str(), port, server.scheduler().parallel(),
               static_cast<long long>(server.scheduler().context()), kv.types.describe().c_str(), human_bytes(kv.bytes_per_token).c_str(),
               human_bytes(kv.bytes_allocated).c_str());
  server.listen();
  pthread_kill(stopper.native_handle(), SIGTERM);  // listen() ended some other way: release the stopper
  stopper.join();
}

}  // namespace

Command add_serve(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  auto* sub = app.add_subcommand("serve", "an OpenAI-compatible HTTP server (/v1/completions, /v1/chat/completions, ...)");
  sub->add_option("-m,--model", o->model, "GGUF file, Hugging Face directory or llama2.c checkpoint")->required();
  sub->add_option("--host", o->server.host, "address to listen on")->capture_default_str();
  sub->add_option("--port", o->server.port, "port to listen on (0: any free one)")->capture_default_str();
  sub->add_option("--parallel", o->server.scheduler.parallel, "sequences decoded at once")->capture_default_str();
  sub->add_option("--ctx-size", o->server.scheduler.context, "tokens per sequence (0: the model's context)")->capture_default_str();
  sub->add_option("--max-queue", o->server.scheduler.max_queued, "requests that may wait for a free sequence")->capture_default_str();
  sub->add_flag("--no-prefix-cache", o->no_prefix_cache, "compute every prompt whole instead of reusing cached prefixes");
  o->server.scheduler.kv_types = DType::F16;  // llama.cpp's default
  add_cache_type_options(sub, o->server.scheduler.kv_types);
  return {sub, [o] { serve(*o); }};
}

}  // namespace vkllm::cli
