// vkllm command-line interface; each subcommand lives in tools/cli/.
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <vector>

#include "tools/cli/commands.h"

using namespace vkllm::cli;

int main(int argc, char** argv) {
  CLI::App app{"vkllm: LLM inference on any Vulkan GPU"};
  app.require_subcommand(1);
  std::string device;
  app.add_option("--device", device, "device index or name substring (default: VKLLM_DEVICE, else the best GPU)");
  std::string memory_budget, limits;
  app.add_option("--memory-budget", memory_budget,
                 "most device memory vkllm may hold, e.g. 512M or 2G (default: VKLLM_MEMORY_BUDGET, else none)");
  app.add_option("--limits", limits,
                 "'mobile': lower the device's features and limits to the weakest supported phones' (default: VKLLM_LIMITS)");
  const std::vector<Command> commands{add_devices(app), add_demo(app),     add_run(app),       add_logits(app),
                                      add_tokenize(app), add_bench(app),   add_make_model(app), add_score(app),
                                      add_serve(app)};
  CLI11_PARSE(app, argc, argv);
  // Device choices travel as the environment the engine reads, so every command honours them.
  if (!device.empty()) setenv("VKLLM_DEVICE", device.c_str(), 1);
  if (!memory_budget.empty()) setenv("VKLLM_MEMORY_BUDGET", memory_budget.c_str(), 1);
  if (!limits.empty()) setenv("VKLLM_LIMITS", limits.c_str(), 1);
  try {
    for (const Command& c : commands)
      if (c.app->parsed()) c.run();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vkllm: %s\n", e.what());
    return 1;
  }
  return 0;
}
