// `vkllm run`: generate from a prompt, streaming text (or ids) to stdout and speed to stderr.
#include <chrono>
#include <filesystem>
#include <cstdio>
#include <memory>
#include <algorithm>
#include <random>

#include "host/chat_template.h"
#include "host/engine/context_shift.h"
#include "host/engine/generate.h"
#include "models/load.h"
#include "runtime/device.h"
#include "runtime/env.h"
#include "runtime/kv_cache_file.h"
#include "tools/cli/commands.h"

namespace vkllm::cli {

namespace {

struct RunOptions {
  std::string model, prompt, tokens, encoder_tokens, prompt_cache, system;
  int n = 128;
  SamplerOptions sampling;
  std::optional<uint32_t> seed;
  std::vector<std::string> stop;
  bool no_cache = false, print_ids = false, no_special = false, ignore_eos = false, chat = false;
  KvTypes kv_types = DType::F16;  // llama.cpp's default
  std::function<bool()> kv_types_given;
  int64_t context = 0;  // 0: the model's
  std::string context_shift, kv_budget;
};

// Encoder-decoder models read the prompt (-p or --encoder-tokens) with the encoder; their
// decoder starts from its start token, followed by --tokens where given (without them, by a
// first token the model forces, as BART's forced_bos_token_id).
void run(RunOptions o) {
  if (o.n < 0) throw Error("run: -n must not be negative");
  Device dev;
  const auto t0 = std::chrono::steady_clock::now();
  LoadedModel loaded = load_model(dev, o.model);
  const double load_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  Model& model = *loaded.model;
  const bool encoder = model.encoder_decoder();
  if (!encoder && !o.encoder_tokens.empty()) throw Error(model.arch() + " is a decoder-only model: it takes no --encoder-tokens");
  if (encoder ? o.prompt.empty() == o.encoder_tokens.empty() : o.prompt.empty() == o.tokens.empty())
    throw Error(encoder ? "run: give the encoder's input as -p TEXT or --encoder-tokens IDS (one of them)"
                        : "run: give the prompt as -p TEXT or --tokens IDS (one of them)");
  const Tokenizer* tokenizer = loaded.tokenizer ? &*loaded.tokenizer : nullptr;
  if (!o.prompt.empty() && !tokenizer) throw Error(o.model + " has no tokenizer: give the prompt as --tokens and read --print-ids");
  if (!o.stop.empty() && !tokenizer) throw Error(o.model + " has no tokenizer: --stop needs one");
  if (o.chat && (encoder || !o.tokens.empty())) throw Error("run: --chat takes -p TEXT for a decoder-only model");
  if (!o.system.empty() && !o.chat) throw Error("run: --system needs --chat");
  const bool print_ids = o.print_ids || !tokenizer;
  std::vector<int32_t> input;  // the encoder's
  std::vector<int32_t> prompt;
  if (encoder) {
    input = o.prompt.empty() ? parse_tokens(o.encoder_tokens) : tokenizer->encode(o.prompt, true, !o.no_special);
    // From scratch the decoder reads what the model's generation starts with (BART: its start
    // token, then a forced <s>); --tokens follow the start token instead.
    prompt = o.tokens.empty() ? model.decoder_prompt() : std::vector<int32_t>{model.decoder_start_token()};
    if (!o.tokens.empty())
      for (int32_t t : parse_tokens(o.tokens)) prompt.push_back(t);
  } else if (o.chat) {
    // The prompt as the user's turn (after --system's), through the model's chat template.
    if (o.prompt.empty()) throw Error("run: --chat takes the user's message as -p TEXT");
    nlohmann::ordered_json messages = nlohmann::ordered_json::array();
    if (!o.system.empty()) messages.push_back({{"role", "system"}, {"content", o.system}});
    messages.push_back({{"role", "user"}, {"content", o.prompt}});
    prompt = ChatTemplate(*tokenizer).encode(messages);
  } else {
    prompt = o.tokens.empty() ? tokenizer->encode(o.prompt, true, !o.no_special) : parse_tokens(o.tokens);
    // A text prompt gets the ending the model requires (ChatGLM-6B: [gMASK] BOS), as its
    // tokenizer would add it.
    const std::vector<int32_t> suffix = model.prompt_suffix();
    if (o.tokens.empty() && !suffix.empty() && !std::equal(suffix.rbegin(), suffix.rend(), prompt.rbegin(), prompt.rend()))
      prompt.insert(prompt.end(), suffix.begin(), suffix.end());
  }
  if (prompt.empty()) throw Error("run: the prompt has no tokens");

  if (o.context < 0 || o.context > model.context())
    throw Error("run: --ctx-size must lie in 0.." + std::to_string(model.context()) + " (0: the model's context)");
  const int64_t context = o.context > 0 ? o.context : model.context();
  // With a context shift, generation runs past the context: the session drops old entries.
  const std::optional<ContextShift> shift =
      o.context_shift.empty() ? std::nullopt : std::optional(ContextShift::parse(o.context_shift));
  if (shift && !o.prompt_cache.empty()) throw Error("run: --context-shift and --prompt-cache do not go together");
  if (int64_t(prompt.size()) + (shift ? 0 : o.n) > context)
    throw Error("context overflow: the prompt's " + std::to_string(prompt.size()) + " tokens" +
                (shift ? "" : " + " + std::to_string(o.n) + " to generate") + " exceed the context of " + std::to_string(context) +
                (shift ? "" : " (--context-shift lets generation run past it)"));
  // A prompt cache may hold more than this run needs (a longer earlier prompt): room for it too.
  const bool cached = !o.prompt_cache.empty() && std::filesystem::exists(o.prompt_cache);
  const CacheFileTarget file = (cached ? cache_file_declared(o.prompt_cache) : std::nullopt).value_or(CacheFileTarget{});
  const int64_t room = shift ? context : std::max(int64_t(prompt.size()) + o.n, std::min<int64_t>(int64_t(file.capacity), context));
  const int64_t encoder_room = std::max(int64_t(input.size()), std::min(int64_t(file.cross_capacity), model.encoder_context()));
  // A prompt cache's types, unless others are asked for (loading then says they differ).
  const KvTypes types = cached && !o.kv_types_given() ? file.types : o.kv_types;
  Session session(model, {.context = room,
                          .encoder_context = encoder_room,
                          .kv_types = types,
                          .use_cache = !o.no_cache,
                          .kv_budget = o.kv_budget.empty() ? 0 : parse_bytes(o.kv_budget, "--kv-budget"),
                          .context_shift = shift});
  const std::vector<int32_t> whole_prompt = prompt;
  size_t reused = 0, common = 0;
  if (!o.prompt_cache.empty()) {
    if (o.no_cache) throw Error("run: --prompt-cache needs the KV cache; drop --no-cache");
    if (model.prefix_lm())
      throw Error(model.arch() + "'s prompt attends both ways, so a cached prompt cannot be reused for another: --prompt-cache is refused");
    if (cached) session.load(o.prompt_cache);
    if (encoder && session.encoder_tokens() != input) session.encode(input);
    const std::vector<int32_t>& held = session.tokens();
    while (common < held.size() && common < prompt.size() && held[common] == prompt[common]) ++common;
    // The last prompt token is decoded again: the file keeps no logits.
    reused = std::min(common, prompt.size() - 1);
    session.truncate(int64_t(reused));
    prompt.erase(prompt.begin(), prompt.begin() + std::ptrdiff_t(reused));
  } else if (encoder) {
    session.encode(input);
  }

  o.sampling.seed = o.seed ? *o.seed : std::random_device{}();
  GenerateOptions g{.max_tokens = o.n, .sampling = o.sampling, .stop = o.stop, .stop_at_end_of_generation = !o.ignore_eos};
  // The file keeps the prompt, as llama.cpp's does; one that already held all of it stays as it is.
  if (!o.prompt_cache.empty() && common < whole_prompt.size()) g.after_prompt = [&] { session.save(o.prompt_cache); };
  if (!print_ids && !o.chat) {  // a chat prints the answer alone
    std::fputs(encoder ? "" : o.prompt.empty() ? tokenizer->decode(whole_prompt).c_str() : o.prompt.c_str(), stdout);
    std::fflush(stdout);
  }
  bool first_id = true;
  const auto result = generate(
      session, tokenizer, prompt, g,
      [&](std::string_view text) {
        if (print_ids) return;
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::fflush(stdout);
      },
      [&](int32_t id) {
        if (!print_ids) return;
        std::printf(first_id ? "%d" : " %d", id);
        std::fflush(stdout);
        first_id = false;
      });
  std::printf("\n");
  std::fflush(stdout);  // the text before the figures, also when both go to one pipe
  const char* why = result.stop == GenerateResult::Stop::EndOfGeneration ? "end of generation"
                    : result.stop == GenerateResult::Stop::StopString    ? "stop string"
                                                                         : "token limit";
  const double tg_s = result.generate_seconds;
  const std::string reuse = o.prompt_cache.empty() ? "" : " (" + std::to_string(reused) + " from " + o.prompt_cache + ")";
  const std::string kv = o.no_cache ? "no cache"
                                    : "K/V " + session.cache().config().types.describe() + " " + human_bytes(session.cache().bytes_per_entry()) + "/token, " +
                                          human_bytes(session.cache().bytes_in_use()) + " in use" +
                                          (shift ? ", " + std::to_string(session.shifted_tokens()) + " tokens shifted out" : "");
  std::fprintf(stderr, "vkllm: load %.2f s | prompt %zu tokens%s, %.2f tokens/s | generated %zu tokens, %.2f tokens/s | %s | %s | seed %u\n",
               load_s, whole_prompt.size(), reuse.c_str(), double(prompt.size()) / result.prompt_seconds, result.tokens.size(),
               tg_s > 0 ? double(result.tokens.size()) / tg_s : 0.0, why, kv.c_str(), o.sampling.seed);
}

}  // namespace

Command add_run(CLI::App& app) {
  auto o = std::make_shared<RunOptions>();
  auto* sub = app.add_subcommand("run", "generate text from a prompt");
  sub->add_option("-m,--model", o->model, "GGUF file or llama2.c checkpoint")->required();
  sub->add_option("-p,--prompt", o->prompt, "prompt text (control tokens written in it are parsed)");
  sub->add_option("--tokens", o->tokens, "prompt as comma-separated token ids instead of text (encoder-decoder models: the decoder's, after its start token)");
  sub->add_option("--encoder-tokens", o->encoder_tokens, "encoder-decoder models: the encoder's input as comma-separated ids instead of -p");
  sub->add_flag("--chat", o->chat, "-p is the user's message, rendered with the model's chat template");
  sub->add_option("--system", o->system, "with --chat: a system message before it");
  sub->add_option("-n,--n-predict", o->n, "tokens to generate")->capture_default_str();
  SamplerOptions& s = o->sampling;
  sub->add_option("--temp", s.temperature, "temperature; 0 = greedy")->capture_default_str();
  sub->add_option("--top-k", s.top_k, "keep the k most likely tokens; 0 = off")->capture_default_str();
  sub->add_option("--top-p", s.top_p, "keep the smallest set with this much probability; 1 = off")->capture_default_str();
  sub->add_option("--min-p", s.min_p, "drop tokens below this fraction of the top probability; 0 = off")->capture_default_str();
  sub->add_option("--repeat-penalty", s.repeat_penalty, "penalize recent tokens; 1 = off")->capture_default_str();
  sub->add_option("--repeat-last-n", s.penalty_last_n, "tokens the penalties look back over; -1 = all")->capture_default_str();
  sub->add_option("--frequency-penalty", s.frequency_penalty, "subtract per occurrence")->capture_default_str();
  sub->add_option("--presence-penalty", s.presence_penalty, "subtract once per present token")->capture_default_str();
  sub->add_flag("--gumbel", s.gumbel, "draw by Gumbel-max instead of the cumulative distribution");
  sub->add_option("--seed", o->seed, "random seed (default: random, printed to stderr)");
  sub->add_option("--stop", o->stop, "stop before this text (repeatable)");
  sub->add_flag("--ignore-eos", o->ignore_eos, "keep generating past end-of-generation tokens");
  sub->add_flag("--no-special", o->no_special, "treat control tokens written in the prompt as plain text");
  sub->add_flag("--print-ids", o->print_ids, "print generated token ids instead of text");
  sub->add_option("--prompt-cache", o->prompt_cache,
                  "reuse the longest common prefix of the prompt from this cache file, and save the prompt's cache to it");
  o->kv_types_given = add_cache_type_options(sub, o->kv_types);
  sub->add_option("-c,--ctx-size", o->context, "tokens the session holds (0: the model's context)")->capture_default_str();
  sub->add_option("--context-shift", o->context_shift,
                  "generate past the context: keep the first `sinks` entries and the most recent `keep` (default half), "
                  "re-rotating what moves; positions=shift (llama.cpp: moved entries go back by the number dropped) or "
                  "cache (StreamingLLM: positions within the cache). E.g. sinks=4,keep=256");
  sub->add_option("--kv-budget", o->kv_budget, "bytes the K/V cache may take (e.g. 64M); lowers the context to what fits");
  sub->add_flag("--no-cache", o->no_cache, "recompute the whole sequence at every step (slow; for checking the cache)");
  return {sub, [o] { run(*o); }};
}

}  // namespace vkllm::cli
