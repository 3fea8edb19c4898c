#pragma once
// The vkllm subcommands: each file in tools/cli/ adds one to the app and returns what runs it.
// A command reports failure by throwing; main prints the message and exits with 1.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/error.h"
#include "runtime/kv_cache.h"  // KvTypes
#include "runtime/memory.h"    // human_bytes

namespace vkllm::cli {

struct Command {
  CLI::App* app;
  std::function<void()> run;
};

Command add_devices(CLI::App& app);
Command add_demo(CLI::App& app);
Command add_logits(CLI::App& app);
Command add_bench(CLI::App& app);
Command add_run(CLI::App& app);
Command add_tokenize(CLI::App& app);
Command add_make_model(CLI::App& app);
Command add_score(CLI::App& app);
Command add_serve(CLI::App& app);

// --cache-type-k and --cache-type-v (llama.cpp's names): f32, f16, q8_0 or q4_0,
// into `types` (whose values are the defaults shown); returns whether either was given.
std::function<bool()> add_cache_type_options(CLI::App* sub, KvTypes& types);

// "1,2,3" -> ids; Error naming the item that is not a token id.
std::vector<int32_t> parse_tokens(const std::string& list);

}  // namespace vkllm::cli
