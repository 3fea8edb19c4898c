#!/usr/bin/env bash
# Benchmark of `vkllm score` at scale (issue 12's report): cases/s, peak RSS, and RSS after
# case 50 against the end, over cases whose documents have many distinct lengths.
#   tools/bench_score_scale.sh [BUILD_DIR]
#   env: CASES=200 DOC_MIN=64 DOC_MAX=1024 PREFIX=32 QUERY=16 ANSWER=8 CONDITIONS=bare,full,truncated
#        DIM=768 LAYERS=12 HEADS=12 FFN=2048 VOCAB=32000 TYPE=q8_0 MARK=50
set -euo pipefail
build=${1:-build}
cases=${CASES:-200} doc_min=${DOC_MIN:-64} doc_max=${DOC_MAX:-1024}
prefix=${PREFIX:-32} query=${QUERY:-16} answer=${ANSWER:-8} mark=${MARK:-50}
conditions=${CONDITIONS:-bare,full,truncated}
dim=${DIM:-768} layers=${LAYERS:-12} heads=${HEADS:-12} ffn=${FFN:-2048} vocab=${VOCAB:-32000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$build/vkllm" make-model --arch llama --dim "$dim" --layers "$layers" --heads "$heads" --kv-heads "$heads" \
  --ffn "$ffn" --vocab "$vocab" --type "${TYPE:-q8_0}" --context $((doc_max + prefix + query + answer + 8)) \
  -o "$work/model.gguf" 2>/dev/null
awk -v n="$cases" -v p="$prefix" -v lo="$doc_min" -v hi="$doc_max" -v q="$query" -v a="$answer" -v v="$vocab" 'BEGIN {
  srand(7)
  for (c = 0; c < n; c++) {
    printf "{\"id\": \"s%d\", \"bos\": 1", c
    split("prefix document query answer", key, " ")
    len[1] = p; len[2] = lo + int(rand() * (hi - lo + 1)); len[3] = q; len[4] = a
    for (k = 1; k <= 4; k++) {
      printf ", \"%s\": [", key[k]
      for (i = 0; i < len[k]; i++) printf "%s%d", (i ? ", " : ""), 3 + int(rand() * (v - 3))
      printf "]"
    }
    printf "}\n"
  }
}' > "$work/cases.jsonl"
per_case=$(awk -F, -v s="$conditions" 'BEGIN { print split(s, x, ",") }')

start=$(date +%s.%N)
"$build/vkllm" score -m "$work/model.gguf" --data "$work/cases.jsonl" --conditions "$conditions" \
  --out "$work/out.jsonl" > /dev/null 2>&1 &
pid=$!
peak=0 at_mark=""
: > "$work/out.jsonl"
while kill -0 "$pid" 2>/dev/null; do  # RSS each half second, against how many cases are written
  rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  done_cases=$(( $(wc -l < "$work/out.jsonl") / per_case ))
  [ -z "$at_mark" ] && [ "$done_cases" -ge "$mark" ] && at_mark=$rss
  [ -n "$rss" ] && last=$rss
  sleep 0.5
done
wait "$pid"
end=$(date +%s.%N)
elapsed=$(awk "BEGIN { print $end - $start }")
echo "llama ${dim}x${layers} vocab $vocab ${TYPE:-q8_0}: $cases cases, documents $doc_min..$doc_max, conditions $conditions"
awk -v t="$elapsed" -v n="$cases" -v p="$peak" -v m="${at_mark:-0}" -v l="${last:-0}" -v k="$mark" 'BEGIN {
  printf "%.1f s, %.4f cases/s\n", t, n / t
  printf "peak RSS %.0f MB; RSS after case %d: %.0f MB, at the end: %.0f MB\n", p / 1024, k, m / 1024, l / 1024
}'
