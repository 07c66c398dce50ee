#!/usr/bin/env bash
# bench_serve.sh: `gptc serve` throughput on GPT-2 124M (random weights, GPT-2's
# tokenizer; speed does not depend on the values): aggregate generated tokens/s and mean
# time to first token at 1, 4 and 16 concurrent streams (bench/serve_load.cjs, npm's
# openai client, greedy, 48 tokens each (SERVE_MAX), 2 rounds per client (SERVE_ROUNDS),
# --parallel 16), against batch-1 `gptc generate`
# in the same run: its decode rate from the first streamed byte to the end, and its time
# to first token from the start of the command (which includes loading the model, a
# cost the server pays once). Prints a markdown table. Needs node and .deps/node (openai).
cd "$(dirname "$0")/.." || exit 2
OUT=build/bench
M=$OUT/serve_gpt2
MAX=${SERVE_MAX:-48} ROUNDS=${SERVE_ROUNDS:-2}
NODE_PATH=$PWD/.deps/node/node_modules; export NODE_PATH
[ -d .deps/node/node_modules/openai ] || { echo "bench_serve: npm's openai is missing (make test-deps)"; exit 0; }
[ -f $M/model.safetensors ] || build/gptc init --out $M --preset gpt2 --seed 1 >/dev/null || exit 1
# batch-1 gptc generate, streaming to a pipe: first byte and last byte times
GEN=$(/usr/bin/python3 - build/gptc $M $MAX <<'PY'
import subprocess, sys, time
gptc, m, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
best = None
for _ in range(2):
    t0 = time.perf_counter()
    p = subprocess.Popen([gptc, "generate", "--model", m, "--prompt", "Request 0: once upon a time in a land far away",
                          "--max-new-tokens", str(n), "--eos-token-id", "-1"], stdout=subprocess.PIPE)
    first = None
    while True:
        b = p.stdout.read(1)
        if not b:
            break
        if first is None:
            first = time.perf_counter()
    p.wait()
    end = time.perf_counter()
    r = ((n - 1) / (end - first), first - t0)
    best = r if best is None or r[0] > best[0] else best
print("RESULT gen_tok_s=%.2f gen_ttft_s=%.3f" % best)
PY
)
echo "$GEN"
build/gptc serve --model $M --port 0 --parallel 16 2>$OUT/serve.log &
SPID=$!
PORT=""
for _ in $(seq 1 600); do
    PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' $OUT/serve.log)
    [ -n "$PORT" ] && break
    sleep 0.1
done
[ -n "$PORT" ] || { echo "bench_serve: the server did not start: $(cat $OUT/serve.log)"; kill $SPID; exit 1; }
LOAD=$(PORT=$PORT MODEL=$M MAX=$MAX ROUNDS=$ROUNDS node bench/serve_load.cjs 2>&1)
echo "$LOAD"
kill -TERM $SPID; wait $SPID
f() { echo "$1" | grep -o -E "(^| )$2=[^ ]+" | head -n 1 | cut -d= -f2; }
gt=$(f "$GEN" gen_tok_s)
echo
echo "| workload (GPT-2 124M, greedy, $MAX new tokens, $ROUNDS rounds per stream) | aggregate tok/s | x batch-1 generate | mean time to first token |"
echo "|---|---|---|---|"
echo "| \`gptc generate\`, batch 1 | $gt | 1.00 | $(f "$GEN" gen_ttft_s) s (includes loading the model) |"
for c in 1 4 16; do
    l=$(echo "$LOAD" | grep "concurrency=$c ")
    echo "| \`gptc serve\`, $c concurrent stream(s) | $(f "$l" tok_s) | $(awk -v a="$(f "$l" tok_s)" -v b="$gt" 'BEGIN { if (b > 0) printf "%.2f", a / b }') | $(f "$l" ttft_s) s |"
done
