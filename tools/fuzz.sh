#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (in build-fuzz/), then runs each for SECONDS (default 60) from its
# committed seed corpus (fuzz/corpus/NAME, copied to build-fuzz/corpus/NAME, where what the
# run finds is kept), and prints executions and coverage per harness. A crash stops the run
# and names the input that reproduces it (build-fuzz/crash-NAME-*).
#   tools/fuzz.sh [SECONDS] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(gguf safetensors tokenizer_json tokenize jinja openai llama2c)
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKLLM_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build build-fuzz --target "${harnesses[@]/#/fuzz_}" >/dev/null
# fuzz_tokenize encodes with a real tokenizer: the shared reference data's Llama 3 one.
export VKLLM_FUZZ_TOKENIZER=${VKLLM_FUZZ_TOKENIZER:-$(cd .. && pwd)/shared/data/tokenizers/hf/llama3}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
printf "%-16s %12s %10s %8s\n" harness executions coverage seconds
for h in "${harnesses[@]}"; do
  if [ "$h" = tokenize ] && [ ! -f "$VKLLM_FUZZ_TOKENIZER/tokenizer.json" ]; then
    echo "$h: skipped ($VKLLM_FUZZ_TOKENIZER/tokenizer.json not found)"
    continue
  fi
  corpus=build-fuzz/corpus/$h
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$h"/* "$corpus"/
  log=build-fuzz/fuzz-$h.log
  if ! build-fuzz/fuzz/fuzz_"$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build-fuzz/crash-"$h"- "$corpus" >"$log" 2>&1; then
    tail -40 "$log"
    echo "$h: failed; the reproducer is build-fuzz/crash-$h-* (log: $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  printf "%-16s %12s %10s %8s\n" "$h" "$runs" "$cov" "$seconds"
done
