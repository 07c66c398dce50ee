#!/usr/bin/env bash
# bench_tokenizer.sh: encode throughput (MB/s) of `gptc tokenize` on one thread and on
# all threads, beside the npm package tiktoken (WASM, one thread) in the same run, on
# generated mixed text (tests/tok/gen.js: prose, Korean, Chinese, emoji, code, digits,
# whitespace runs). gptc's time excludes loading the encoding (an empty input's run is
# subtracted). usage: bash bench/bench_tokenizer.sh [MBYTES]   (default 10)
cd "$(dirname "$0")/.." || exit 2
MBYTES=${1:-10}
REP=${BENCH_TOK_REPEATS:-3}
GPTC=${GPTC:-build/gptc} # GPTC=other/build/gptc compares another build
export NODE_PATH=$PWD/.deps/node/node_modules GPTC_DATA_DIR=${GPTC_DATA_DIR:-$PWD/build/share/gptc}
[ -x $GPTC ] || make -s build/gptc || exit 1
make -s encodings || exit 1
command -v node >/dev/null && [ -d "$NODE_PATH/tiktoken" ] || { echo "bench_tokenizer: needs node + npm tiktoken (sh scripts/deps.sh test)"; exit 1; }
D=$(mktemp -d); trap 'rm -rf "$D"' EXIT
/usr/bin/python3 tests/tok/assigned.py >"$D/assigned.json"
node tests/tok/gen.js 1 $((MBYTES * 1000000)) "$D/text.txt" "$D/assigned.json"
: >"$D/empty.txt"
NT=$(nproc)
best() { # best wall seconds of REP runs of: gptc tokenize --count ARGS
    local b=999999999999999 t0 t
    for _ in $(seq $REP); do
        t0=$(date +%s%N); $GPTC tokenize --count "$@" >/dev/null || exit 1
        t=$(( $(date +%s%N) - t0 )); [ $t -lt $b ] && b=$t
    done
    echo $b
}
SIZE=$(stat -c %s "$D/text.txt")
echo "text: $(awk -v s=$SIZE 'BEGIN{printf "%.1f", s/1e6}') MB mixed (seed 1), best of $REP; CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $NT threads"
printf "%-12s %10s %10s %10s %10s %8s\n" encoding "gptc 1t" "gptc ${NT}t" tiktoken "1t/tik" tokens
node bench/tok/tiktoken_bench.js "$D/text.txt" $REP gpt2 cl100k_base o200k_base >"$D/tik.txt" || exit 1
for e in gpt2 cl100k_base o200k_base; do
    load=$(best --threads 1 --encoding $e "$D/empty.txt")
    t1=$(best --threads 1 --encoding $e "$D/text.txt")
    tn=$(best --threads $NT --encoding $e "$D/text.txt")
    n=$($GPTC tokenize --count --encoding $e "$D/text.txt")
    tik=$(awk -v e=$e '$1 == e {print $2}' "$D/tik.txt")
    tikn=$(awk -v e=$e '$1 == e {print $3}' "$D/tik.txt")
    [ "$n" = "$tikn" ] || echo "WARNING: $e token counts differ: gptc $n, tiktoken $tikn"
    awk -v e=$e -v s=$SIZE -v l=$load -v a=$t1 -v b=$tn -v k=$tik -v n=$n 'BEGIN {
        m1 = s / 1e6 / ((a - l) / 1e9); mn = s / 1e6 / ((b - l) / 1e9);
        printf "%-12s %10.2f %10.2f %10.2f %9.2fx %8d\n", e, m1, mn, k, m1 / k, n }'
done
echo "(MB/s; gptc 1t/${NT}t: gptc tokenize --threads 1/$NT; tiktoken: npm tiktoken $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$NODE_PATH/tiktoken/package.json" | head -1) encode_ordinary, one thread)"
