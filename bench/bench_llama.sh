#!/usr/bin/env bash
# bench_llama.sh: gptc and llama.cpp side by side in one run, on the same GGUF files:
# prefill (512-token prompt) and batch-1 greedy decoding tok/s, and the weight bytes read
# per second as a fraction of the machine's read bandwidth, for f32, q8_0, q4_0 and q4_k
# (gptc export --format gguf of a `gptc init` model: GPT-2's shapes and tokenizer, random
# weights; speed does not depend on the values) and bf16 (gptc only: a `gptc quantize
# --type bf16` directory, run as `gptc generate --dtype bf16` runs it; the GGUF writer has
# no bf16). gptc runs bench/bench_decode.c
# --model FILE, llama.cpp bench/bench_llama.c (npm's node-llama-cpp: its prebuilt CPU
# llama.cpp, built here against the llama.h of the source it ships), the two alternating
# per format, LLAMA_ROUNDS times (default 3: gptc, llama.cpp, gptc, llama.cpp, ...), each
# figure the median of its rounds (on a 2-vCPU cloud machine one pass varies by 15-20%).
# Skipped with a message when node-llama-cpp is not installed
# (`scripts/deps.sh llama`). Prints the llama.cpp build and a markdown table.
# LLAMA_CLASS=avx2 (or GPTC_CPU=avx2) measures the AVX2 + FMA class (a Haswell or a Zen 3)
# on a CPU with more: gptc under GPTC_CPU=avx2, llama.cpp with only ggml's haswell CPU
# library to load (a directory of links beside the package's, build/bench/ggml_avx2), and
# the run fails when llama.cpp's RESULT names another variant.
# usage: bash bench/bench_llama.sh [--bw GB/s]  (env: LLAMA_PRESETS="gpt2 gpt2-medium",
#        BENCH_THREADS=N for both programs (default: all cores), LLAMA_PROMPT=512, LLAMA_STEPS=64,
#        LLAMA_ROUNDS=3, LLAMA_CLASS=avx2)
cd "$(dirname "$0")/.." || exit 2
OUT=build/bench
BW=""
[ "$1" = --bw ] && BW=$2
PRESETS=${LLAMA_PRESETS:-gpt2 gpt2-medium}
THREADS=${BENCH_THREADS:-$(nproc)}
PROMPT=${LLAMA_PROMPT:-512} STEPS=${LLAMA_STEPS:-64} ROUNDS=${LLAMA_ROUNDS:-3}
case "$ROUNDS" in '' | *[!0-9]* | 0) echo "bench_llama: LLAMA_ROUNDS=$ROUNDS: not a positive integer"; exit 2 ;; esac
NLC=.deps/node/node_modules/node-llama-cpp
LIBDIR=$PWD/.deps/node/node_modules/@node-llama-cpp/linux-x64/bins/linux-x64
BUNDLE=$NLC/llama/gitRelease.bundle
LIBLLAMA=$(ls "$LIBDIR"/libllama.v*.so 2>/dev/null | head -n 1)
LIBGGML=$(ls "$LIBDIR"/libggml.v*.so 2>/dev/null | head -n 1)
if [ ! -f "$NLC/package.json" ] || [ -z "$LIBLLAMA" ] || [ -z "$LIBGGML" ] || [ ! -f "$BUNDLE" ]; then
    echo "bench_llama: npm's node-llama-cpp (its prebuilt CPU llama.cpp) is not installed: llama.cpp not measured (scripts/deps.sh llama installs it)"
    exit 0
fi
mkdir -p $OUT
# llama.h and the ggml headers of the source node-llama-cpp's binaries were built from
INC=$OUT/llama_include
if [ ! -f $INC/llama.h ] || [ "$BUNDLE" -nt $INC/llama.h ]; then
    rm -rf $INC $OUT/llama_src.git && mkdir -p $INC || exit 1
    git init -q --bare $OUT/llama_src.git && git -C $OUT/llama_src.git fetch -q "$PWD/$BUNDLE" HEAD || {
        echo "bench_llama: cannot read $BUNDLE"; exit 1; }
    for f in include/llama.h ggml/include/ggml.h ggml/include/ggml-backend.h ggml/include/ggml-alloc.h \
        ggml/include/ggml-cpu.h ggml/include/ggml-opt.h ggml/include/gguf.h; do
        git -C $OUT/llama_src.git show "FETCH_HEAD:$f" >$INC/$(basename $f) || { echo "bench_llama: $f missing"; exit 1; }
    done
    git -C $OUT/llama_src.git rev-parse FETCH_HEAD >$INC/source_commit
    rm -rf $OUT/llama_src.git
fi
if [ ! -x $OUT/bench_llama ] || [ bench/bench_llama.c -nt $OUT/bench_llama ] || [ $INC/llama.h -nt $OUT/bench_llama ]; then
    ${CC:-cc} -std=c11 -O2 -Wall -Wextra -I$INC -o $OUT/bench_llama bench/bench_llama.c "$LIBLLAMA" "$LIBGGML" \
        "$LIBDIR/libggml-base.so" -ldl -Wl,-rpath,"$LIBDIR" || { echo "bench_llama: building bench_llama failed"; exit 1; }
fi
CLASS=${LLAMA_CLASS:-${GPTC_CPU:-}}
LOADDIR=$LIBDIR WANT_VARIANT=""
case "$CLASS" in
"" | avx512) CLASS=native ;;
avx2)
    # ggml_backend_load_all_from_path loads the best CPU variant it finds in the directory:
    # give it only haswell's (AVX2, FMA, F16C; the libraries beside it as links)
    export GPTC_CPU=avx2
    LOADDIR=$PWD/$OUT/ggml_avx2 WANT_VARIANT=haswell
    rm -rf "$LOADDIR" && mkdir -p "$LOADDIR" || exit 1
    for f in libggml-base.so libggml-cpu-haswell.so libllama-common.so; do
        [ -f "$LIBDIR/$f" ] || { echo "bench_llama: $LIBDIR/$f missing"; exit 1; }
        ln -s "$LIBDIR/$f" "$LOADDIR/$f"
    done ;;
*) echo "bench_llama: LLAMA_CLASS=$CLASS: not avx2 or avx512"; exit 2 ;;
esac
[ -x $OUT/bench_decode ] || { echo "bench_llama: build/bench/bench_decode is missing (bench/run.sh builds it)"; exit 1; }
[ -f build/share/gptc/encodings/gpt2.tiktoken ] || make -s encodings >/dev/null 2>&1
NLCV=$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' $NLC/package.json | head -n 1)
REL=$(sed -n 's/.*"release": *"\([^"]*\)".*/\1/p' $NLC/llama/binariesGithubRelease.json 2>/dev/null | head -n 1)
field() { echo "$1" | grep -o -E "(^| )$2=[^ ]+" | head -n 1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
# one RESULT line from several (one per round): each numeric field the median of its
# values, the other fields as in the first line
median() {
    awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); k[i] = kv[1]; v[i, NR] = kv[2] } nf = NF }
    END { printf "RESULT"
        for (i = 2; i <= nf; i++) {
            if (v[i, 1] !~ /^-?[0-9.]+$/) { printf " %s=%s", k[i], v[i, 1]; continue }
            n = 0; for (r = 1; r <= NR; r++) a[++n] = v[i, r] + 0
            for (x = 2; x <= n; x++) for (y = x; y > 1 && a[y - 1] > a[y]; y--) { t = a[y]; a[y] = a[y - 1]; a[y - 1] = t }
            m = n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
            printf " %s=%s", k[i], m
        }
        print "" }'
}
gbs() { [ -n "$1" ] && echo "$(field "$1" decode_gbs) ($(field "$1" bw_frac))" || echo "-"; }
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
ROWS="" BUILD="" VARIANT=""
for p in $PRESETS; do
    M=$OUT/llama_$p
    if [ ! -f $M/model.safetensors ] || [ ! -f $M/vocab.json ]; then
        rm -rf $M && build/gptc init --out $M --preset $p --seed 1 >/dev/null || exit 1
    fi
    for t in f32 bf16 q8_0 q4_0 q4_k; do
        if [ $t = bf16 ]; then
            F=$OUT/llama_${p}_bf16
            [ -f $F/model.safetensors ] || build/gptc quantize --model $M --type bf16 --out $F >/dev/null || exit 1
        else
            F=$OUT/llama_${p}_$t.gguf
            build/gptc export --format gguf --model $M --type $t --out $F >/dev/null || exit 1
        fi
        GR="" LR=""
        for r in $(seq "$ROUNDS"); do
            g=$($OUT/bench_decode --model $F $([ $t = bf16 ] && echo --dtype bf16) --threads "$THREADS" --prompt $PROMPT --steps $STEPS ${BW:+--bw $BW} 2>&1); echo "$g"
            gr=$(echo "$g" | grep '^RESULT' | tail -n 1)
            [ -n "$gr" ] && GR+="$gr"$'\n'
            [ -n "$BW" ] || BW=$(field "$gr" read_gbs)
            [ $t = bf16 ] && continue
            l=$($OUT/bench_llama --model $F --libdir "$LOADDIR" --threads "$THREADS" --prompt $PROMPT --steps $STEPS ${BW:+--bw $BW} 2>&1); echo "$l"
            lr=$(echo "$l" | grep '^RESULT' | tail -n 1)
            [ -n "$lr" ] && LR+="$lr"$'\n'
            [ -n "$BUILD" ] || BUILD=$(field "$lr" build) VARIANT=$(field "$lr" cpu_variant)
            if [ -n "$WANT_VARIANT" ] && [ "$(field "$lr" cpu_variant)" != "$WANT_VARIANT" ]; then
                echo "bench_llama: llama.cpp ran ggml's CPU library \"$(field "$lr" cpu_variant)\", not $WANT_VARIANT"
                exit 1
            fi
        done
        [ $t = bf16 ] || rm -f $F
        gr=$([ -n "$GR" ] && printf "%s" "$GR" | median)
        lr=$([ -n "$LR" ] && printf "%s" "$LR" | median)
        ROWS+="| $p | $t | $(field "$gr" prefill_tok_s) | $(field "$lr" prefill_tok_s) | $(ratio "$(field "$gr" prefill_tok_s)" "$(field "$lr" prefill_tok_s)") |"
        ROWS+=" $(field "$gr" decode_tok_s) | $(field "$lr" decode_tok_s) | $(ratio "$(field "$gr" decode_tok_s)" "$(field "$lr" decode_tok_s)") |"
        ROWS+=" $(field "$gr" weights_mb) / $(field "$lr" weights_mb) | $(gbs "$gr") | $(gbs "$lr") |"$'\n'
    done
done
echo
echo "- CPU class: $CLASS$([ $CLASS = native ] && echo " (the best this CPU runs: gptc's own level, ggml's own choice of CPU library)")$([ $CLASS = avx2 ] && echo " (this CPU restricted to AVX2 + FMA on both sides: gptc GPTC_CPU=avx2, llama.cpp's haswell library only)"): $(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -n 1)"
echo "- llama.cpp: npm node-llama-cpp $NLCV, prebuilt CPU binaries release $REL (llama.cpp $BUILD, source commit $(cut -c1-12 $INC/source_commit)), ggml CPU library \"$VARIANT\"; default context parameters (flash attention auto, f16 KV cache), n_batch = n_ubatch = $PROMPT"
echo "- threads $THREADS for both; each figure the median of $ROUNDS alternating rounds; read bandwidth ${BW:-?} GB/s; load average before $LOAD0, after $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| model | weights | prefill $PROMPT tok/s gptc | llama.cpp | gptc / llama.cpp | decode tok/s gptc | llama.cpp | gptc / llama.cpp | MB read per token gptc / llama.cpp | weight GB/s gptc (of bandwidth) | llama.cpp |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf "%s" "$ROWS"
