#!/usr/bin/env bash
# Benchmark of `vkllm serve` (issue 16's report): aggregate generated tokens/s for N concurrent
# requests, for each N in CLIENTS, and time to first token for a PROMPT-token prompt computed
# cold and then with all but its last 8 tokens cached (another request shared the prefix).
#   tools/bench_serve.sh MODEL [BUILD_DIR]   env: CLIENTS=1,4,16 TOKENS=32 PROMPT=1024
set -euo pipefail
model=$1 build=${2:-build}
clients=${CLIENTS:-1,4,16} tokens=${TOKENS:-32} prompt=${PROMPT:-1024}
port=${PORT:-18399}
most=$(tr ',' '\n' <<<"$clients" | sort -n | tail -1)
work=$(mktemp -d)
"$build/vkllm" serve -m "$model" --port "$port" --parallel "$most" --ctx-size $((prompt + tokens + 16)) 2>"$work/serve.log" &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$work"' EXIT
until curl -sf "localhost:$port/health" >/dev/null; do sleep 0.2; done
now() { date +%s.%N; }

for n in ${clients//,/ }; do
  start=$(now) requests=()
  for i in $(seq "$n"); do
    curl -s "localhost:$port/v1/completions" \
      -d "{\"prompt\": \"request $i of $n\", \"max_tokens\": $tokens, \"seed\": $i}" >"$work/out.$n.$i" &
    requests+=($!)
  done
  wait "${requests[@]}"
  end=$(now)
  generated=$(cat "$work"/out."$n".* | grep -o '"completion_tokens":[0-9]*' | cut -d: -f2 | awk '{ s += $1 } END { print s }')
  awk -v n="$n" -v g="$generated" -v s="$start" -v e="$end" \
    'BEGIN { printf "%2d concurrent: %4d tokens in %6.2f s = %7.2f tokens/s aggregate\n", n, g, e - s, g / (e - s) }'
done

# Time to first token: the whole response of a one-token completion (prefill + one step).
ids() { awk -v n="$1" -v seed="$2" 'BEGIN { srand(seed); printf "["; for (i = 0; i < n; i++) printf "%s%d", i ? "," : "", 3 + int(rand() * 250); printf "]" }'; }
shared=$(ids $((prompt - 8)) 1)
first="${shared%]},$(ids 8 2 | tr -d '[]')]"
second="${shared%]},$(ids 8 3 | tr -d '[]')]"
for which in cold reused; do
  body=$([ $which = cold ] && echo "$first" || echo "$second")
  seconds=$(curl -s -o "$work/ttft.$which" -w '%{time_total}' "localhost:$port/v1/completions" \
    -d "{\"prompt\": $body, \"max_tokens\": 1, \"seed\": 1}")
  cached=$(grep -o '"cached_tokens":[0-9]*' "$work/ttft.$which" | cut -d: -f2)
  printf "time to first token, %d-token prompt, %-6s: %6.3f s (%s tokens cached)\n" "$prompt" "$which" "$seconds" "$cached"
done
