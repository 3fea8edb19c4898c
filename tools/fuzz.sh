#!/usr/bin/env bash
# Builds the libFuzzer harnesses of fuzz/ with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer (in build-sanitize/, which tools/sanitize.sh shares), then runs each
# for SECONDS (default 60) from its committed seed corpus (fuzz/corpus/NAME, copied to
# build-sanitize/corpus/NAME, where what the run finds is kept), and prints executions and
# coverage per harness. A crash stops the run and names the input that reproduces it
# (build-sanitize/crash-NAME-*). With --runs N, each runs until N executions instead.
#   tools/fuzz.sh [SECONDS | --runs N] [HARNESS...]
set -euo pipefail
cd "$(dirname "$0")/.."
limit=(-max_total_time="${1:-60}")
if [ "${1:-}" = --runs ]; then
  limit=(-runs="$2")
  shift 2
else
  shift || true
fi
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(gguf safetensors tokenizer_json tokenize jinja openai llama2c score_cases cache_file)
CC=clang CXX=clang++ cmake -S . -B build-sanitize -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DVKLLM_FUZZ=ON >/dev/null
cmake --build build-sanitize --target "${harnesses[@]/#/fuzz_}" >/dev/null
# fuzz_tokenize encodes with a real tokenizer: the shared reference data's Llama 3 one.
export VKLLM_FUZZ_TOKENIZER=${VKLLM_FUZZ_TOKENIZER:-$(cd .. && pwd)/shared/data/tokenizers/hf/llama3}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
printf "%-16s %12s %10s %8s\n" harness executions coverage seconds
for h in "${harnesses[@]}"; do
  if [ "$h" = tokenize ] && [ ! -f "$VKLLM_FUZZ_TOKENIZER/tokenizer.json" ]; then
    echo "$h: skipped ($VKLLM_FUZZ_TOKENIZER/tokenizer.json not found)"
    continue
  fi
  corpus=build-sanitize/corpus/$h
  mkdir -p "$corpus"
  cp -n fuzz/corpus/"$h"/* "$corpus"/
  log=build-sanitize/fuzz-$h.log
  start=$SECONDS
  if ! build-sanitize/fuzz/fuzz_"$h" "${limit[@]}" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix=build-sanitize/crash-"$h"- "$corpus" >"$log" 2>&1; then
    tail -40 "$log"
    echo "$h: failed; the reproducer is build-sanitize/crash-$h-* (log: $log)" >&2
    exit 1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*$')
  printf "%-16s %12s %10s %8s\n" "$h" "$runs" "$cov" "$((SECONDS - start))"
done
