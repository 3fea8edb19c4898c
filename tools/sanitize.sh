#!/usr/bin/env bash
# The test suite under AddressSanitizer (leaks included) and UndefinedBehaviorSanitizer: builds
# everything with clang in build-sanitize/ (with libFuzzer's coverage too, so the harnesses of
# fuzz/ come from the same build), runs the GPU suite's default configuration, the C API suite,
# the CLI checks and the openai client against `vkllm serve` on lavapipe, then runs each fuzz
# harness for SMOKE seconds (default 10; 0 skips them). Any sanitizer report fails the run.
#   tools/sanitize.sh [SMOKE]
set -euo pipefail
cd "$(dirname "$0")/.."
smoke=${1:-10}
tools/setup.sh
CC=clang CXX=clang++ cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKLLM_FUZZ=ON >/dev/null
cmake --build build-sanitize -j"$(nproc)"
# The Vulkan loader unloads the driver and the validation layer when an instance goes away, after
# which LeakSanitizer can neither name nor follow what they still hold. Preloaded, they stay.
export LD_PRELOAD="libvulkan_lvp.so libVkLayer_khronos_validation.so"
export LSAN_OPTIONS="suppressions=$PWD/tests/sanitizers/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
ctest --test-dir build-sanitize --output-on-failure -j"$(nproc)" -R '^(gpu_default|c_api|cli_.*|openai_client)$'
if [ "$smoke" -gt 0 ]; then
  tools/fuzz.sh "$smoke"
fi
