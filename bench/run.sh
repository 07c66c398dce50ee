#!/usr/bin/env bash
# run.sh: `make bench`. Measures the machine's ceiling (build/bench/ceiling), the
# tokenizer benches when present, serving (bench/bench_serve.sh: gptc serve at 1, 4 and 16
# streams vs batch-1 gptc generate), a GPT-2 training step of gptc vs PyTorch, inference
# against PyTorch and against llama.cpp (bench/bench_llama.sh), decoding and training with
# one competing busy process, a BERT encoder's and an encoder-decoder's (Marian) forward
# and training step against PyTorch (bench/bench_bert.c, bench/torch_bert.py,
# bench/bench_marian.c, bench/torch_marian.py), batched translation (greedy, beam 4)
# against PyTorch (bench_marian --task translate, torch_marian.py --task translate);
# prints a table. Writes only under
# build/bench, except with --record, which also rewrites the numbers section of
# BENCHMARKS.md and, when the BERT bench ran, its block in the BERT section
# (<!-- bert:begin --> .. <!-- bert:end -->).
# --train-only: the GPT-2 training steps and inference; --bert-only: the BERT bench alone.
# usage: bash bench/run.sh [--record] [--quick] [--train-only | --bert-only]
cd "$(dirname "$0")/.." || exit 2
RECORD=0 STEPS=${BENCH_STEPS:-3} TRAIN_ONLY=0 BERT_ONLY=0 INVOKED="bash bench/run.sh${*:+ $*}"
for a in "$@"; do
    case $a in
    --record) RECORD=1 ;;
    --quick) STEPS=1 ;;
    --train-only) TRAIN_ONLY=1 ;;
    --bert-only) BERT_ONLY=1 ;;
    *) echo "usage: bash bench/run.sh [--record] [--quick] [--train-only | --bert-only]" >&2; exit 2 ;;
    esac
done
[ $TRAIN_ONLY = 0 ] || [ $BERT_ONLY = 0 ] || { echo "bench: --train-only and --bert-only exclude each other" >&2; exit 2; }
FULL=$((TRAIN_ONLY == 0 && BERT_ONLY == 0))
PY=/usr/bin/python3
OUT=build/bench
mkdir -p $OUT
LIBS="-lpcre2-8 -ljansson -ldl -lm -lpthread"

# build/bench/NAME from bench/NAME.c against build/libgptc.a (Makefile's flags).
build_one() {
    local src=bench/$1.c bin=$OUT/$1
    [ -f "$src" ] || return 1
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ bench/bench_args.h -nt "$bin" ] || [ build/libgptc.a -nt "$bin" ]; then
        ${CC:-cc} -std=c11 -Wall -Wextra -Wno-unused-parameter -O2 -g -fopenmp -Iinclude -Isrc \
            -o "$bin" "$src" build/libgptc.a $LIBS || { echo "bench: building $bin failed" >&2; return 1; }
    fi
}
[ -f build/libgptc.a ] || make -s build/libgptc.a || exit 1

# ---- machine
LOAD=$(cut -d' ' -f1-3 /proc/loadavg)
CPU="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1) (family $(lscpu | sed -n 's/^CPU family: *//p' | head -n 1), model $(lscpu | sed -n 's/^Model: *//p' | head -n 1))"
FLAGS=$(grep -m1 -o -w -E 'avx2|fma|avx512f|avx512bw|avx512vl|avx512_bf16|avx512_vnni|amx_tile' /proc/cpuinfo | sort -u | tr '\n' ' ')
CORES=$(nproc)
MEM=$(free -g | awk '/^Mem:/ {print $2 " GiB"}')
TORCHV=$($PY -c 'import torch; print(torch.__version__)' 2>/dev/null || echo "not installed")
echo "machine: $CPU, $CORES cores, $MEM; flags: $FLAGS"
BUSY=$(awk -v l="${LOAD%% *}" -v c="$CORES" 'BEGIN { if (l > c / 2) printf "- WARNING: load average %s on %d cores before the run: other work shared the CPU, so every number here is low and noisy.\n", l, c }')
[ -z "$BUSY" ] || echo "bench: ${BUSY#- }"

field() { echo "$1" | grep -o -E "(^| )$2=[^ ]+" | head -n 1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf " (%.0f%%)", 100 * a / b }'; }

# ---- ceiling (another engineer's bench/ceiling.c)
CEIL=""
CEIL_TXT=""
if [ $BERT_ONLY = 1 ]; then
    :
elif build_one ceiling; then
    CEIL_TXT=$($OUT/ceiling 2>&1)
    echo "$CEIL_TXT"
    # the best sgemm GFLOP/s the ceiling program reports
    # the best GFLOP/s of gptc's sgemm backend over the shapes ceiling measures (the
    # 1024^3 and GPT-2 training shapes): what the machine showed it can do
    CEIL=$(echo "$CEIL_TXT" | grep -E '^sgemm ' | grep -o -E '[0-9]+(\.[0-9]+)? *GFLOP/s' | grep -o -E '^[0-9.]+' | sort -g | tail -n 1)
else
    echo "bench: no bench/ceiling.c (sgemm ceiling not measured)"
fi

# ---- tokenizer and serving benches (scripts that print their own table)
EXTRA=""
for s in bench/bench_tokenizer.sh bench/bench_bpe_train.sh bench/bench_serve.sh; do
    if [ -f "$s" ] && [ $FULL = 1 ]; then
        echo "== $s"
        txt=$(bash "$s" 2>&1); echo "$txt"
        EXTRA+=$'\n'"### $(basename "$s")"$'\n\n```\n'"$txt"$'\n```\n'
    fi
done

# ---- training step: gptc vs PyTorch
[ $BERT_ONLY = 1 ] || build_one bench_train || exit 1
ROWS=""
BACKEND=""
for spec in "gpt2 4 64" "small 8 256"; do
    [ $BERT_ONLY = 0 ] || break
    set -- $spec
    echo "== train step $1, batch $2 x $3 (best of $STEPS timed steps after 1 warmup)"
    g=$($OUT/bench_train --preset "$1" --batch "$2" --seq "$3" --steps "$STEPS" 2>$OUT/gptc_$1.log)
    echo "$g"
    [ -n "$BACKEND" ] || BACKEND=$(echo "$g" | sed -n 's/.*backend //p' | head -n 1)
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1)
    tr=""
    if [ "$TORCHV" != "not installed" ]; then
        t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_train.py --preset "$1" --batch "$2" --seq "$3" \
            --steps "$STEPS" --threads "$CORES" 2>$OUT/torch_$1.log)
        echo "$t"
        tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    fi
    gms=$(field "$gr" ms) tms=$(field "$tr" ms)
    [ "$1" = gpt2 ] && Q_TRAIN_MS=$gms Q_TRAIN_TORCH_MS=$tms
    ROWS+="| $1 ($(field "$gr" params) params), batch $2 x $3 | ${gms:-fail} | ${tms:--} | $(ratio "$tms" "$gms") |"
    ROWS+=" $(field "$gr" tok_s) / $(field "$tr" tok_s) |"
    ROWS+=" $(field "$gr" gflops)$(pct "$(field "$gr" gflops)" "$CEIL") / $(field "$tr" gflops)$(pct "$(field "$tr" gflops)" "$CEIL") |"
    ROWS+=" $(field "$gr" rss_mb) / $(field "$tr" rss_mb) |"$'\n'
done

# ---- inference: prompt processing and batch-1 decoding, gptc vs PyTorch with a KV cache
if [ $BERT_ONLY = 0 ] && build_one bench_decode; then
    BW=$(echo "$CEIL_TXT" | grep -i 'memory copy' | grep -o -E '[0-9]+(\.[0-9]+)? *GB/s' | grep -o -E '^[0-9.]+' | head -n 1)
    DROWS=""
    for p in gpt2 gpt2-medium; do
        d=$($OUT/bench_decode --preset $p ${BW:+--bw $BW} 2>&1); echo "$d"; dr=$(echo "$d" | grep '^RESULT' | tail -n 1)
        t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_decode.py --preset $p --threads "$CORES" 2>&1); echo "$t"
        tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
        DROWS+="| $p | $(field "$dr" prefill_tok_s) / $(field "$tr" prefill_tok_s) | $(field "$dr" decode_tok_s) / $(field "$tr" decode_tok_s) | $(ratio "$(field "$dr" decode_tok_s)" "$(field "$tr" decode_tok_s)") | $(field "$dr" decode_gbs) of $(field "$dr" read_gbs) GB/s ($(field "$dr" bw_frac)) |"$'\n'
        [ $p = gpt2 ] && TR_GPT2=$tr Q_DEC=$(field "$dr" decode_tok_s) Q_DEC_TORCH=$(field "$tr" decode_tok_s)
        [ $p = gpt2-medium ] && TR_MED=$tr
    done
    # the block matrices kept as BF16 (gptc generate --dtype bf16) and the models of
    # `gptc quantize` (q8_0, q4_0, q4_k: every matrix, wte and the tied head included),
    # against torch's f32 of the same size
    for p in gpt2 gpt2-medium; do
        tr=$TR_GPT2; [ $p = gpt2-medium ] && tr=$TR_MED
        for dt in bf16 q8_0 q4_0 q4_k; do
            d=$($OUT/bench_decode --preset $p --dtype $dt ${BW:+--bw $BW} 2>&1); echo "$d"; dr=$(echo "$d" | grep '^RESULT' | tail -n 1)
            DROWS+="| $p, $dt (torch f32) | $(field "$dr" prefill_tok_s) / $(field "$tr" prefill_tok_s) | $(field "$dr" decode_tok_s) / $(field "$tr" decode_tok_s) | $(ratio "$(field "$dr" decode_tok_s)" "$(field "$tr" decode_tok_s)") | $(field "$dr" decode_gbs) of $(field "$dr" read_gbs) GB/s ($(field "$dr" bw_frac)) |"$'\n'
        done
    done
    EXTRA+=$'\n'"### inference (bench/bench_decode.c, bench/torch_decode.py with a KV cache, OMP_WAIT_POLICY=PASSIVE)"$'\n\n'"| model | prefill 512 tok/s gptc / torch | decode tok/s gptc / torch | decode speedup | weight bytes/s of bandwidth |"$'\n'"|---|---|---|---|---|"$'\n'"$DROWS"
fi

# ---- one competing busy process (`yes >/dev/null`, not pinned, one core of work):
# batch-1 decoding and the training step again, beside the quiet figures above
if [ $FULL = 1 ] && [ -x $OUT/bench_decode ]; then
    echo "== with one competing busy process (yes >/dev/null)"
    yes >/dev/null &
    YES=$!
    d=$($OUT/bench_decode --preset gpt2 ${BW:+--bw $BW} 2>&1); echo "$d"
    bdec=$(field "$(echo "$d" | grep '^RESULT' | tail -n 1)" decode_tok_s)
    g=$($OUT/bench_train --preset gpt2 --batch 4 --seq 64 --steps "$STEPS" 2>&1); echo "$g"
    btr=$(field "$(echo "$g" | grep '^RESULT' | tail -n 1)" ms)
    bdt="" btt=""
    if [ "$TORCHV" != "not installed" ]; then
        t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_decode.py --preset gpt2 --threads "$CORES" 2>&1); echo "$t"
        bdt=$(field "$(echo "$t" | grep '^RESULT' | tail -n 1)" decode_tok_s)
        t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_train.py --preset gpt2 --batch 4 --seq 64 --steps "$STEPS" \
            --threads "$CORES" 2>&1); echo "$t"
        btt=$(field "$(echo "$t" | grep '^RESULT' | tail -n 1)" ms)
    fi
    kill $YES
    wait $YES 2>/dev/null
    EXTRA+=$'\n'"### with one competing busy process (\`yes >/dev/null\` beside the run, not pinned; $CORES cores, all threads)"$'\n\n'
    EXTRA+="| workload (gpt2 124M) | gptc quiet | gptc busy | busy / quiet | PyTorch quiet | PyTorch busy |"$'\n'"|---|---|---|---|---|---|"$'\n'
    EXTRA+="| decode tok/s (higher is better) | ${Q_DEC:--} | ${bdec:--} | $(ratio "$bdec" "$Q_DEC") | ${Q_DEC_TORCH:--} | ${bdt:--} |"$'\n'
    EXTRA+="| train step 4 x 64 ms (lower is better) | ${Q_TRAIN_MS:--} | ${btr:--} | $(ratio "$btr" "$Q_TRAIN_MS") | ${Q_TRAIN_TORCH_MS:--} | ${btt:--} |"$'\n'
fi

# ---- gptc and llama.cpp side by side on the same GGUF files (bench/bench_llama.sh;
# skipped with a message when npm's node-llama-cpp is not installed)
if [ $FULL = 1 ] && [ -f bench/bench_llama.sh ]; then
    echo "== bench/bench_llama.sh"
    txt=$(bash bench/bench_llama.sh ${BW:+--bw $BW} 2>&1); echo "$txt"
    EXTRA+=$'\n'"### gptc vs llama.cpp (bench/bench_llama.sh: the same GGUF files, prefill 512 tokens, batch-1 greedy decoding)"$'\n\n'"$(echo "$txt" | grep -v -E '^(gptc|llama\.cpp|RESULT)[: ]')"$'\n'
fi

# ---- a fixed small pre-training job, gptc vs PyTorch (bench/bench_pretrain.sh)
if [ $FULL = 1 ] && [ -f bench/bench_pretrain.sh ]; then
    echo "== bench/bench_pretrain.sh"
    txt=$(bash bench/bench_pretrain.sh 2>&1); echo "$txt"
    EXTRA+=$'\n'"### pre-training job (bench/bench_pretrain.sh: 4 layers, 4 heads, 128 wide, 256 context, 300 steps of 8 sequences, Moby-Dick)"$'\n\n```\n'"$txt"$'\n```\n'
fi

# ---- data-parallel training over MPI (bench/bench_mpi.sh)
if [ $FULL = 1 ] && [ -f bench/bench_mpi.sh ]; then
    echo "== bench/bench_mpi.sh"
    txt=$(bash bench/bench_mpi.sh 2>&1); echo "$txt"
    EXTRA+=$'\n'"### data-parallel training (bench/bench_mpi.sh: GPT-2 124M, global batch 4 x 64, Open MPI on this machine)"$'\n\n```\n'"$txt"$'\n```\n'
fi

# ---- BERT encoder: forward and a pre-training step at batch 32 x 128 (bench/bench_bert.c,
# bench/torch_bert.py); its own block of BENCHMARKS.md (the BERT section)
BERT_MD=""
if [ $TRAIN_ONLY = 0 ] && build_one bench_bert; then
    echo "== BERT (bert-mini, batch 32 x 128)"
    BLOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    g=$($OUT/bench_bert --preset bert-mini --batch 32 --seq 128 --steps "$STEPS" 2>&1); echo "$g"
    t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_bert.py --preset bert-mini --batch 32 --seq 128 --steps "$STEPS" \
        --threads "$CORES" 2>&1); echo "$t"
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1) tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    [ -n "$gr" ] || echo "bench: bench_bert printed no RESULT line" >&2
    BERT_MD="Measured $(date -u +%Y-%m-%d) by \`$INVOKED\` (mean of $STEPS timed steps after 1 warmup; load average before: $BLOAD, after: $(cut -d' ' -f1-3 /proc/loadavg)) on $CPU, $CORES cores; PyTorch $TORCHV, torch.set_num_threads($CORES), OMP_WAIT_POLICY=PASSIVE.
$(awk -v l="${BLOAD%% *}" -v c="$CORES" 'BEGIN { if (l > c / 2) printf "Other work shared the CPU (load above half the cores): both figures are low and noisy, the ratio less so.\n" }')

| bert-mini (4 x 256, vocabulary 30522), batch 32 x 128 | gptc tok/s | PyTorch tok/s | speedup |
|---|---|---|---|
| forward | $(field "$gr" forward_tok_s) | $(field "$tr" forward_tok_s) | $(ratio "$(field "$gr" forward_tok_s)" "$(field "$tr" forward_tok_s)") |
| training step | $(field "$gr" step_tok_s) | $(field "$tr" step_tok_s) | $(ratio "$(field "$gr" step_tok_s)" "$(field "$tr" step_tok_s)") |"
fi

# ---- encoder-decoder (Marian) training step and teacher-forced forward (bench/bench_marian.c, bench/torch_marian.py)
if [ $FULL = 1 ] && build_one bench_marian; then
    echo "== Marian (marian-small, batch 16, source 48, target 48)"
    g=$($OUT/bench_marian --preset marian-small --batch 16 --src 48 --tgt 48 --steps "$STEPS" 2>&1); echo "$g"
    t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_marian.py --preset marian-small --batch 16 --src 48 --tgt 48 \
        --steps "$STEPS" --threads "$CORES" 2>&1); echo "$t"
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1) tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    EXTRA+=$'\n'"### encoder-decoder (bench/bench_marian.c, bench/torch_marian.py: marian-small 3 + 3 layers x 256, ffn 1024, vocab 8000, batch 16, sources of 48 (last quarter padding), targets of 48, fp32, OMP_WAIT_POLICY=PASSIVE; target tokens/s)"$'\n\n'"| | gptc tok/s | PyTorch tok/s | speedup |"$'\n'"|---|---|---|---|"$'\n'"| forward | $(field "$gr" forward_tok_s) | $(field "$tr" forward_tok_s) | $(ratio "$(field "$gr" forward_tok_s)" "$(field "$tr" forward_tok_s)") |"$'\n'"| training step | $(field "$gr" step_tok_s) | $(field "$tr" step_tok_s) | $(ratio "$(field "$gr" step_tok_s)" "$(field "$tr" step_tok_s)") |"$'\n'
fi

# ---- batched translation, greedy and beam 4 (bench/bench_marian.c --task translate, bench/torch_marian.py --task translate)
if [ $FULL = 1 ] && build_one bench_marian; then
    echo "== Marian translation (marian-small, 64 sentences of 20-40 ids, batches of 16, 32 new tokens, greedy and beam 4)"
    TLOAD=$(cut -d' ' -f1-3 /proc/loadavg)
    rm -rf "$OUT/marian_translate_model"
    g=$($OUT/bench_marian --task translate --preset marian-small --sentences 64 --min-src 20 --max-src 40 --batch 16 \
        --max-new 32 --steps "$STEPS" --save "$OUT/marian_translate_model" 2>&1); echo "$g"
    t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_marian.py --task translate --model "$OUT/marian_translate_model" \
        --sentences 64 --min-src 20 --max-src 40 --batch 16 --max-new 32 --steps "$STEPS" --threads "$CORES" 2>&1); echo "$t"
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1) tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    same=$([ -n "$(echo "$g" | grep '^greedy_first')" ] && [ "$(echo "$g" | grep '^greedy_first')" = "$(echo "$t" | grep '^greedy_first')" ] && echo yes || echo no)
    EXTRA+=$'\n'"### batched translation (bench/bench_marian.c --task translate, bench/torch_marian.py --task translate: the same random marian-small model (3 + 3 layers x 256, ffn 1024, vocab 8000, saved by gptc and loaded by PyTorch), 64 sources of 20-40 ids sorted by length into batches of 16, 32 new tokens each (no eos), PyTorch = batched loops with a KV cache, fp32, $CORES threads each, OMP_WAIT_POLICY=PASSIVE; load average before: $TLOAD, after: $(cut -d' ' -f1-3 /proc/loadavg); sentence 0's greedy tokens equal on both sides: $same)"$'\n\n'"| | gptc sentences/s | PyTorch sentences/s | gptc new tok/s | PyTorch new tok/s | speedup |"$'\n'"|---|---|---|---|---|---|"$'\n'"| greedy | $(field "$gr" greedy_sent_s) | $(field "$tr" greedy_sent_s) | $(field "$gr" greedy_tok_s) | $(field "$tr" greedy_tok_s) | $(ratio "$(field "$gr" greedy_sent_s)" "$(field "$tr" greedy_sent_s)") |"$'\n'"| beam 4 | $(field "$gr" beam4_sent_s) | $(field "$tr" beam4_sent_s) | $(field "$gr" beam4_tok_s) | $(field "$tr" beam4_tok_s) | $(ratio "$(field "$gr" beam4_sent_s)" "$(field "$tr" beam4_sent_s)") |"$'\n'
fi

TABLE="| train step (fp32) | gptc ms | PyTorch ms | speedup | tokens/s gptc / torch | GFLOP/s gptc / torch (% of sgemm) | peak RSS MB gptc / torch |
|---|---|---|---|---|---|---|
$ROWS"
REPORT="Measured $(date -u +%Y-%m-%d) by \`make bench\` (best of $STEPS timed steps after 1 warmup; load average before: $LOAD).

- CPU: $CPU, $CORES cores, $MEM memory; flags: $FLAGS
- gptc BLAS backend: ${BACKEND:-unknown}
- sgemm ceiling (gptc's backend, all threads, best of the shapes below): ${CEIL:-not measured} GFLOP/s
- PyTorch $TORCHV (Debian), torch.set_num_threads($CORES), OMP_WAIT_POLICY=PASSIVE
$BUSY

$TABLE
### ceiling

\`\`\`
${CEIL_TXT:-bench/ceiling.c not present}
\`\`\`
$EXTRA"
echo
if [ $BERT_ONLY = 1 ]; then
    echo "$BERT_MD" | tee $OUT/results.md
else
    { echo "$REPORT"; [ -z "$BERT_MD" ] || printf '\n### BERT encoder\n\n%s\n' "$BERT_MD"; } | tee $OUT/results.md
fi
echo "$REPORT" >$OUT/numbers.md
echo "$BERT_MD" >$OUT/bert.md
if [ $RECORD = 1 ]; then
    # record NAME FILE: FILE between <!-- NAME:begin --> and <!-- NAME:end --> of BENCHMARKS.md
    record() {
        $PY - "$1" "$2" <<'EOF'
import sys
name, new = sys.argv[1], open(sys.argv[2]).read()
s = open("BENCHMARKS.md").read()
b, e = "<!-- %s:begin -->" % name, "<!-- %s:end -->" % name
if b not in s or e not in s:
    sys.exit("bench: BENCHMARKS.md lacks the %s marker" % b)
i, j = s.index(b), s.index(e)
s = s[:i] + b + "\n" + new.rstrip("\n") + "\n" + s[j:]
open("BENCHMARKS.md.tmp", "w").write(s)
EOF
        [ $? = 0 ] && mv BENCHMARKS.md.tmp BENCHMARKS.md && echo "bench: recorded into BENCHMARKS.md ($1)"
    }
    [ -f BENCHMARKS.md ] || { echo "bench: no BENCHMARKS.md" >&2; exit 1; }
    if [ $BERT_ONLY = 0 ]; then record numbers $OUT/numbers.md || exit 1; fi
    if [ -n "$BERT_MD" ]; then record bert $OUT/bert.md || exit 1; fi
fi
