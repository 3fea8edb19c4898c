// doctest runner for the GPU suites. Exits non-zero if any validation message was produced,
// even outside a test case's fixture.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/test_util.h"

int main(int argc, char** argv) {
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  int rc = ctx.run();
  if (ctx.shouldExit()) return rc;
  auto& dev = vkllm::test::gpu();
  std::printf("device: %s; %s\n", dev.info().name.c_str(), dev.caps().describe().c_str());
  auto leftover = dev.instance().take_validation_messages();
  if (!leftover.empty()) {
    std::fprintf(stderr, "%zu validation message(s) outside test cases\n", leftover.size());
    return 1;
  }
  return rc;
}
