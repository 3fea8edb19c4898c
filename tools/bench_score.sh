#!/usr/bin/env bash
# Benchmark of `vkllm score` (issue 6's report): cases/s scoring all five conditions in one run,
# where conditions share each Phase A cache through copies, select and reposition, against
# running each condition on its own (which recomputes Phase A every time).
#   tools/bench_score.sh [BUILD_DIR]   env: CASES=2 PREFIX=32 DOC=512 QUERY=16 ANSWER=8 TYPE=q8_0
set -euo pipefail
build=${1:-build}
cases=${CASES:-2} prefix=${PREFIX:-32} doc=${DOC:-512} query=${QUERY:-16} answer=${ANSWER:-8}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/vkllm" make-model --arch llama --dim 768 --layers 12 --heads 12 --kv-heads 12 --ffn 2048 \
  --type "${TYPE:-q8_0}" --context 2048 -o "$work/llama.gguf" 2>/dev/null
awk -v n="$cases" -v p="$prefix" -v d="$doc" -v q="$query" -v a="$answer" 'BEGIN {
  srand(7)
  for (c = 0; c < n; c++) {
    printf "{\"id\": \"b%d\", \"bos\": 1", c
    split("prefix document query answer", key, " "); len[1] = p; len[2] = d; len[3] = q; len[4] = a
    for (k = 1; k <= 4; k++) {
      printf ", \"%s\": [", key[k]
      for (i = 0; i < len[k]; i++) printf "%s%d", (i ? ", " : ""), 3 + int(rand() * 31000)
      printf "]"
    }
    printf "}\n"
  }
}' > "$work/cases.jsonl"

calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }

seconds() {  # wall time of one score run
  local start end
  start=$(date +%s.%N)
  "$build/vkllm" score -m "$work/llama.gguf" --data "$work/cases.jsonl" --conditions "$1" > /dev/null 2>&1
  end=$(date +%s.%N)
  calc "$end - $start"
}

echo "llama 768x12 ${TYPE:-q8_0}: $cases cases, prefix $prefix, document $doc, query $query, answer $answer"
shared=$(seconds bare,full,truncated,truncated_gap,suffix)
printf "all five conditions in one run:      %8.1f s  %.4f cases/s\n" "$shared" "$(calc "$cases / $shared")"
separate=0
for c in bare full truncated truncated_gap suffix; do
  t=$(seconds "$c")
  printf "  %-14s alone:               %8.1f s\n" "$c" "$t"
  separate=$(calc "$separate + $t")
done
printf "each condition in its own run:       %8.1f s  %.4f cases/s\n" "$separate" "$(calc "$cases / $separate")"
printf "sharing Phase A is %.2fx faster\n" "$(calc "$separate / $shared")"
