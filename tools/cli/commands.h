#pragma once
// The vkllm subcommands: each file in tools/cli/ adds one to the app and returns what runs it.
// A command reports failure by throwing; main prints the message and exits with 1.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "runtime/error.h"
#include "runtime/memory.h"  // human_bytes

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

// "1,2,3" -> ids; Error naming the item that is not a token id.
std::vector<int32_t> parse_tokens(const std::string& list);

}  // namespace vkllm::cli
