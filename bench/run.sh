#!/usr/bin/env bash
# run.sh: `make bench`. Measures the machine's ceiling (build/bench/ceiling), the
# tokenizer benches when present, serving (bench/bench_serve.sh: gptc serve at 1, 4 and 16
# streams vs batch-1 gptc generate), a GPT-2 training step of gptc vs PyTorch, BERT's and an
# encoder-decoder's (Marian) forward and training step vs PyTorch; prints a
# table. Writes only under build/bench, except with --record, which also rewrites the
# numbers section of BENCHMARKS.md.  usage: bash bench/run.sh [--record] [--quick] [--train-only]
cd "$(dirname "$0")/.." || exit 2
RECORD=0 STEPS=${BENCH_STEPS:-3} TRAIN_ONLY=0
for a in "$@"; do
    case $a in
    --record) RECORD=1 ;;
    --quick) STEPS=1 ;;
    --train-only) TRAIN_ONLY=1 ;;
    *) echo "usage: bash bench/run.sh [--record] [--quick] [--train-only]" >&2; exit 2 ;;
    esac
done
PY=/usr/bin/python3
OUT=build/bench
mkdir -p $OUT
LIBS="-lpcre2-8 -ljansson -ldl -lm -lpthread"

# build/bench/NAME from bench/NAME.c against build/libgptc.a (Makefile's flags).
build_one() {
    local src=bench/$1.c bin=$OUT/$1
    [ -f "$src" ] || return 1
    if [ ! -x "$bin" ] || [ "$src" -nt "$bin" ] || [ build/libgptc.a -nt "$bin" ]; then
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

# ---- ceiling (another engineer's bench/ceiling.c)
CEIL=""
CEIL_TXT=""
if build_one ceiling; then
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
    if [ -f "$s" ] && [ $TRAIN_ONLY = 0 ]; then
        echo "== $s"
        txt=$(bash "$s" 2>&1); echo "$txt"
        EXTRA+=$'\n'"### $(basename "$s")"$'\n\n```\n'"$txt"$'\n```\n'
    fi
done

# ---- training step: gptc vs PyTorch
build_one bench_train || exit 1
ROWS=""
BACKEND=""
field() { echo "$1" | grep -o -E "(^| )$2=[^ ]+" | head -n 1 | cut -d= -f2; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (a > 0 && b > 0) printf " (%.0f%%)", 100 * a / b }'; }
for spec in "gpt2 4 64" "small 8 256"; do
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
    ROWS+="| $1 ($(field "$gr" params) params), batch $2 x $3 | ${gms:-fail} | ${tms:--} | $(ratio "$tms" "$gms") |"
    ROWS+=" $(field "$gr" tok_s) / $(field "$tr" tok_s) |"
    ROWS+=" $(field "$gr" gflops)$(pct "$(field "$gr" gflops)" "$CEIL") / $(field "$tr" gflops)$(pct "$(field "$tr" gflops)" "$CEIL") |"
    ROWS+=" $(field "$gr" rss_mb) / $(field "$tr" rss_mb) |"$'\n'
done

# ---- inference: prompt processing and batch-1 decoding, gptc vs PyTorch with a KV cache
if build_one bench_decode; then
    BW=$(echo "$CEIL_TXT" | grep -i 'memory copy' | grep -o -E '[0-9]+(\.[0-9]+)? *GB/s' | grep -o -E '^[0-9.]+' | head -n 1)
    DROWS=""
    for p in gpt2 gpt2-medium; do
        d=$($OUT/bench_decode --preset $p ${BW:+--bw $BW} 2>&1); echo "$d"; dr=$(echo "$d" | grep '^RESULT' | tail -n 1)
        t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_decode.py --preset $p --threads "$CORES" 2>&1); echo "$t"
        tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
        DROWS+="| $p | $(field "$dr" prefill_tok_s) / $(field "$tr" prefill_tok_s) | $(field "$dr" decode_tok_s) / $(field "$tr" decode_tok_s) | $(ratio "$(field "$dr" decode_tok_s)" "$(field "$tr" decode_tok_s)") | $(field "$dr" decode_gbs) of $(field "$dr" read_gbs) GB/s ($(field "$dr" bw_frac)) |"$'\n'
        [ $p = gpt2 ] && TR_GPT2=$tr
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

# ---- a fixed small pre-training job, gptc vs PyTorch (bench/bench_pretrain.sh)
if [ $TRAIN_ONLY = 0 ] && [ -f bench/bench_pretrain.sh ]; then
    echo "== bench/bench_pretrain.sh"
    txt=$(bash bench/bench_pretrain.sh 2>&1); echo "$txt"
    EXTRA+=$'\n'"### pre-training job (bench/bench_pretrain.sh: 4 layers, 4 heads, 128 wide, 256 context, 300 steps of 8 sequences, Moby-Dick)"$'\n\n```\n'"$txt"$'\n```\n'
fi

# ---- data-parallel training over MPI (bench/bench_mpi.sh)
if [ $TRAIN_ONLY = 0 ] && [ -f bench/bench_mpi.sh ]; then
    echo "== bench/bench_mpi.sh"
    txt=$(bash bench/bench_mpi.sh 2>&1); echo "$txt"
    EXTRA+=$'\n'"### data-parallel training (bench/bench_mpi.sh: GPT-2 124M, global batch 4 x 64, Open MPI on this machine)"$'\n\n```\n'"$txt"$'\n```\n'
fi

# ---- BERT encoder: forward and a pre-training step at batch 32 x 128 (bench/bench_bert.c, bench/torch_bert.py)
if [ $TRAIN_ONLY = 0 ] && build_one bench_bert; then
    echo "== BERT (bert-mini, batch 32 x 128)"
    g=$($OUT/bench_bert --preset bert-mini --batch 32 --seq 128 --steps "$STEPS" 2>&1); echo "$g"
    t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_bert.py --preset bert-mini --batch 32 --seq 128 --steps "$STEPS" \
        --threads "$CORES" 2>&1); echo "$t"
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1) tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    EXTRA+=$'\n'"### BERT encoder (bench/bench_bert.c, bench/torch_bert.py: bert-mini 4 x 256, vocab 30522, batch 32 x 128 with padding, MLM + NSP, fp32, OMP_WAIT_POLICY=PASSIVE)"$'\n\n'"| | gptc tok/s | PyTorch tok/s | speedup |"$'\n'"|---|---|---|---|"$'\n'"| forward | $(field "$gr" forward_tok_s) | $(field "$tr" forward_tok_s) | $(ratio "$(field "$gr" forward_tok_s)" "$(field "$tr" forward_tok_s)") |"$'\n'"| training step | $(field "$gr" step_tok_s) | $(field "$tr" step_tok_s) | $(ratio "$(field "$gr" step_tok_s)" "$(field "$tr" step_tok_s)") |"$'\n'
fi

# ---- encoder-decoder (Marian) training step and teacher-forced forward (bench/bench_marian.c, bench/torch_marian.py)
if [ $TRAIN_ONLY = 0 ] && build_one bench_marian; then
    echo "== Marian (marian-small, batch 16, source 48, target 48)"
    g=$($OUT/bench_marian --preset marian-small --batch 16 --src 48 --tgt 48 --steps "$STEPS" 2>&1); echo "$g"
    t=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_marian.py --preset marian-small --batch 16 --src 48 --tgt 48 \
        --steps "$STEPS" --threads "$CORES" 2>&1); echo "$t"
    gr=$(echo "$g" | grep '^RESULT' | tail -n 1) tr=$(echo "$t" | grep '^RESULT' | tail -n 1)
    EXTRA+=$'\n'"### encoder-decoder (bench/bench_marian.c, bench/torch_marian.py: marian-small 3 + 3 layers x 256, ffn 1024, vocab 8000, batch 16, sources of 48 (last quarter padding), targets of 48, fp32, OMP_WAIT_POLICY=PASSIVE; target tokens/s)"$'\n\n'"| | gptc tok/s | PyTorch tok/s | speedup |"$'\n'"|---|---|---|---|"$'\n'"| forward | $(field "$gr" forward_tok_s) | $(field "$tr" forward_tok_s) | $(ratio "$(field "$gr" forward_tok_s)" "$(field "$tr" forward_tok_s)") |"$'\n'"| training step | $(field "$gr" step_tok_s) | $(field "$tr" step_tok_s) | $(ratio "$(field "$gr" step_tok_s)" "$(field "$tr" step_tok_s)") |"$'\n'
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
echo "$REPORT" | tee $OUT/results.md
if [ $RECORD = 1 ]; then
    if [ ! -f BENCHMARKS.md ] || ! grep -q '<!-- numbers:begin -->' BENCHMARKS.md; then
        echo "bench: BENCHMARKS.md lacks the <!-- numbers:begin --> marker" >&2; exit 1
    fi
    $PY - "$OUT/results.md" <<'EOF'
import sys
new = open(sys.argv[1]).read()
s = open("BENCHMARKS.md").read()
b, e = s.index("<!-- numbers:begin -->"), s.index("<!-- numbers:end -->")
s = s[:b] + "<!-- numbers:begin -->\n" + new.rstrip("\n") + "\n" + s[e:]
open("BENCHMARKS.md.tmp", "w").write(s)
EOF
    mv BENCHMARKS.md.tmp BENCHMARKS.md && echo "bench: recorded into BENCHMARKS.md"
fi
