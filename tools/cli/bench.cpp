// `vkllm bench`: prompt-processing and generation tokens/s, like llama-bench.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <numeric>
#include <random>

#include "host/engine/session.h"
#include "models/load.h"
#include "runtime/device.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

struct BenchOptions {
  std::string model;
  int prompt = 128, generate = 32, repetitions = 3;
  bool json = false;
  bool no_cache = false;  // every step recomputes the sequence (and re-encodes the input) from scratch
  KvTypes kv_types = DType::F16;  // llama.cpp's default
};

double mean(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0) / double(v.size()); }
double stddev(const std::vector<double>& v) {
  if (v.size() < 2) return 0.0;
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return std::sqrt(s / double(v.size() - 1));
}

// Prompt processing (one prefill of -p tokens) and generation (-n single-token steps, logits read
// back each step as a sampler would), tokens/s over repetitions after one warm-up, like llama-bench.
void bench(const BenchOptions& o) {
  Device dev;
  const auto t_load = std::chrono::steady_clock::now();
  const uint64_t before_load = dev.allocator().bytes_in_use();
  auto model = load_model(dev, o.model).model;
  const double weight_bytes = double(dev.allocator().bytes_in_use() - before_load);  // all a step reads once
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_load).count();
  if (o.prompt < 1 || o.generate < 1 || o.repetitions < 1) throw Error("bench: -p, -n and -r must be positive");
  // An encoder-decoder model reads the prompt with its encoder and generates with its decoder,
  // each within its own length.
  const bool encoder = model->encoder_decoder();
  const int64_t encoder_length = model->encoder_context();
  if (encoder && (o.prompt > encoder_length || o.generate > model->context()))
    throw Error("bench: the model encodes at most " + std::to_string(encoder_length) + " tokens and decodes at most " +
                std::to_string(model->context()));
  if (!encoder && o.prompt + o.generate > model->context())
    throw Error("bench: prompt + generated tokens (" + std::to_string(o.prompt + o.generate) + ") exceed the model's context of " +
                std::to_string(model->context()));
  std::mt19937 rng(1);
  std::uniform_int_distribution<int32_t> token(0, model->vocab() - 1);
  // Random tokens, ending the way the model's prompts must end (ChatGLM-6B: [gMASK] BOS).
  const std::vector<int32_t> suffix = model->prompt_suffix();
  if (o.prompt < int(suffix.size())) throw Error("bench: -p must be at least " + std::to_string(suffix.size()) + " for this model");
  std::vector<int32_t> prompt(size_t(o.prompt) - suffix.size());
  for (auto& t : prompt)
    do t = token(rng);
    while (std::find(suffix.begin(), suffix.end(), t) != suffix.end());
  prompt.insert(prompt.end(), suffix.begin(), suffix.end());
  // One session, cleared between repetitions, so the recorded graphs are reused. An
  // encoder-decoder model encodes the prompt (pp) and decodes from its start token (tg).
  Session session(*model, {.context = encoder ? o.generate : o.prompt + o.generate,
                           .encoder_context = encoder ? o.prompt : 0,
                           .kv_types = o.kv_types,
                           .use_cache = !o.no_cache});
  std::vector<double> pp, tg;
  uint64_t submissions = 0, allocations = 0, dispatches = 0;  // over the timed generation steps
  for (int rep = -1; rep < o.repetitions; ++rep) {  // rep -1: warm-up (records graphs, builds pipelines)
    session.clear();
    auto t0 = std::chrono::steady_clock::now();
    if (encoder)
      session.encode(prompt);
    else
      session.decode_last(prompt);  // as llama-bench: logits for the last prompt token only
    auto t1 = std::chrono::steady_clock::now();
    const uint64_t submitted = dev.submissions(), allocated = dev.allocator().allocations(), dispatched = dev.dispatches();
    for (int i = 0; i < o.generate; ++i) {
      const int32_t next = encoder && i == 0 ? model->decoder_start_token() : token(rng);
      session.decode_last({&next, 1});
    }
    auto t2 = std::chrono::steady_clock::now();
    if (rep < 0) continue;
    submissions += dev.submissions() - submitted;
    allocations += dev.allocator().allocations() - allocated;
    dispatches += dev.dispatches() - dispatched;
    pp.push_back(o.prompt / std::chrono::duration<double>(t1 - t0).count());
    tg.push_back(o.generate / std::chrono::duration<double>(t2 - t1).count());
  }
  const std::string name = std::filesystem::path(o.model).filename().string();
  // K/V memory: per token, and held at the end of a repetition (prompt and generated tokens).
  const uint64_t kv_per_token = o.no_cache ? 0 : session.cache().bytes_per_entry();
  const uint64_t kv_in_use = o.no_cache ? 0 : session.cache().bytes_in_use();
  const double steps = double(o.generate) * double(o.repetitions);
  const double submissions_per_step = double(submissions) / steps, allocations_per_step = double(allocations) / steps,
               dispatches_per_step = double(dispatches) / steps, weight_gbps = weight_bytes * mean(tg) * 1e-9;
  if (o.json) {
    std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"n_prompt\": %d, \"n_gen\": %d, \"repetitions\": %d, "
                "\"load_s\": %.3f, \"pp_tps\": %.3f, \"pp_tps_sd\": %.3f, \"tg_tps\": %.3f, \"tg_tps_sd\": %.3f, "
                "\"submissions_per_token\": %.2f, \"allocations_per_token\": %.2f, \"dispatches_per_token\": %.1f, "
                "\"weight_bytes\": %.0f, \"tg_weight_gbps\": %.3f, \"kv_type_k\": \"%s\", \"kv_type_v\": \"%s\", "
                "\"kv_bytes_per_token\": %llu, \"kv_bytes_in_use\": %llu, \"no_cache\": %s}\n",
                name.c_str(), dev.info().name.c_str(), o.prompt, o.generate, o.repetitions, load_s, mean(pp), stddev(pp),
                mean(tg), stddev(tg), submissions_per_step, allocations_per_step, dispatches_per_step, weight_bytes, weight_gbps,
                dtype_name(session.cache().config().types.k), dtype_name(session.cache().config().types.v), static_cast<unsigned long long>(kv_per_token), static_cast<unsigned long long>(kv_in_use),
                o.no_cache ? "true" : "false");
    return;
  }
  std::printf("| %-28s | %-32s | %8s | %18s |\n", "model", "device", "test", "t/s");
  std::printf("| %-28s | %-32s | %8s | %18s |\n", std::string(28, '-').c_str(), std::string(32, '-').c_str(), "--------",
              "------------------");
  char pp_name[32], tg_name[32];
  std::snprintf(pp_name, sizeof pp_name, "pp%d", o.prompt);
  std::snprintf(tg_name, sizeof tg_name, o.no_cache ? "tg%d nc" : "tg%d", o.generate);
  for (auto [test, v] : {std::pair{pp_name, &pp}, std::pair{tg_name, &tg}})
    std::printf("| %-28s | %-32.32s | %8s | %10.2f ± %5.2f |\n", name.c_str(), dev.info().name.c_str(), test, mean(*v), stddev(*v));
  std::fprintf(stderr,
               "load %.2f s, %d repetitions; per generated token %.2f queue submissions, %.2f allocations, %.1f dispatches; "
               "weights %.1f MB, read at %.2f GB/s in generation; K/V (%s) %s/token, %s in use at the end\n",
               load_s, o.repetitions, submissions_per_step, allocations_per_step, dispatches_per_step, weight_bytes * 1e-6, weight_gbps,
               session.cache().config().types.describe().c_str(), human_bytes(kv_per_token).c_str(), human_bytes(kv_in_use).c_str());
}

}  // namespace

Command add_bench(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  auto* sub = app.add_subcommand("bench", "prompt-processing and generation tokens/s, like llama-bench");
  sub->add_option("-m,--model", o->model, "GGUF file or llama2.c checkpoint")->required();
  sub->add_option("-p,--n-prompt", o->prompt, "prompt tokens (one prefill)");
  sub->add_option("-n,--n-gen", o->generate, "generated tokens (one per step)");
  sub->add_option("-r,--repetitions", o->repetitions, "timed repetitions after a warm-up");
  sub->add_flag("--json", o->json, "print one JSON object");
  add_cache_type_options(sub, o->kv_types);
  sub->add_flag("--no-cache", o->no_cache,
                "every generation step recomputes the whole sequence (encoder-decoder models: re-encodes the input, "
                "re-projecting the cross-attention K/V) instead of reading caches");
  return {sub, [o] { bench(*o); }};
}

}  // namespace vkllm::cli
