#!/usr/bin/env bash
# bench_bpe_train.sh: `gptc tokenizer-train` throughput: a 32k vocabulary learned from
# MB (default 100) megabytes of real English text (Debian's changelogs, NEWS, READMEs and
# copyright files from /usr/share/doc, repeated if there is less). The text is built in a
# temporary folder and removed; nothing is committed. Prints MB/s and the seconds split
# into pre-tokenization and merging.
#   usage: bash bench/bench_bpe_train.sh [MB] [VOCAB]   (env THREADS, GPTC)
ROOT=$(cd "$(dirname "$0")/.." && pwd)
GPTC=${GPTC:-$ROOT/build/gptc}
MB=${1:-100}
VOCAB=${2:-32000}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/bench_bpe.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
[ -x "$GPTC" ] || { echo "bench_bpe_train: $GPTC not built (run make)" >&2; exit 2; }

want=$((MB * 1000000))
{
    zcat -q /usr/share/doc/*/changelog*.gz /usr/share/doc/*/NEWS*.gz /usr/share/doc/*/README*.gz 2>/dev/null
    cat /usr/share/doc/*/copyright /usr/share/common-licenses/* 2>/dev/null
} | head -c "$want" >"$TMP/base.txt"
have=$(stat -c %s "$TMP/base.txt")
if [ "$have" -lt 1000 ]; then echo "bench_bpe_train: no text found in /usr/share/doc" >&2; exit 2; fi
: >"$TMP/corpus.txt"
while [ "$(stat -c %s "$TMP/corpus.txt")" -lt "$want" ]; do cat "$TMP/base.txt" >>"$TMP/corpus.txt"; done
truncate -s "$want" "$TMP/corpus.txt"

echo "bench_bpe_train: $MB MB ($((have / 1000000)) MB unique text), vocab $VOCAB, threads ${THREADS:-all} ($(nproc) cores)"
out=$("$GPTC" tokenizer-train --input "$TMP/corpus.txt" --vocab-size "$VOCAB" --special '<|endoftext|>' \
      ${THREADS:+--threads $THREADS} --out "$TMP/tok" 2>"$TMP/err") || { cat "$TMP/err" >&2; exit 1; }
echo "$out"
echo "$out" | awk -v mb="$MB" '
    { for (i = 1; i <= NF; i++) {
        if ($i == "s" && $(i+1) == "(pre-tokenize") total = $(i-1)
        if ($i == "(pre-tokenize") pre = $(i+1)
        if ($i == "(pre-tokenize" && $(i+3) == "at") mbs = $(i+4)
        if ($i == "merge") merge = $(i+1)
      } }
    END { printf "bpe_train: %.1f MB/s overall (%s MB in %.2f s): pre-tokenization %.2f s (%.1f MB/s), merging %.2f s\n",
                 mb / total, mb, total, pre, mbs, merge }'
