#!/usr/bin/env bash
# translate_ko_en.sh DIR [MINUTES] [THREADS] [DIRECTIONS]: trains a small English<->Korean Transformer
# (MarianMTModel layout) on the LibreOffice help pairs for about MINUTES (default 20)
# minutes per direction, en->ko and ko->en, and scores both on the held-out test pairs
# against the copy-the-source baseline (corpus BLEU and chrF, sacreBLEU's definitions).
# Everything goes into DIR: data/ (scripts/get_ko_en.py), tok/ (one joint BPE), en-ko/ and
# ko-en/ (runs; model/ is the trained model), scores.json. Not part of `make test`.
set -euo pipefail
DIR=${1:?usage: translate_ko_en.sh DIR [MINUTES] [THREADS]}
MIN=${2:-20}
TH=${3:-2}
DIRS=${4:-en-ko ko-en}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
G=${GPTC:-$ROOT/build/gptc}
PY=/usr/bin/python3
mkdir -p "$DIR"
# the shared set-up (data, BPE) once, also when two directions start side by side
exec 9>"$DIR/.setup.lock"
flock 9
[ -f "$DIR/data/test.jsonl" ] || $PY "$ROOT/scripts/get_ko_en.py" "$DIR/data"
if [ ! -f "$DIR/both.txt" ]; then
# TSV pairs per direction, and the test sources / references as text
$PY - "$DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
for split in ("train", "val", "test"):
    rows = [json.loads(l) for l in open(os.path.join(d, "data", split + ".jsonl"), encoding="utf-8")]
    for a, b, name in (("src", "tgt", "en-ko"), ("tgt", "src", "ko-en")):
        os.makedirs(os.path.join(d, name), exist_ok=True)
        with open(os.path.join(d, name, split + ".tsv"), "w", encoding="utf-8") as f:
            for r in rows:
                f.write(r[a].replace("\t", " ") + "\t" + r[b].replace("\t", " ") + "\n")
        if split == "test":
            with open(os.path.join(d, name, "test.src"), "w", encoding="utf-8") as f:
                f.writelines(r[a] + "\n" for r in rows)
            with open(os.path.join(d, name, "test.ref"), "w", encoding="utf-8") as f:
                f.writelines(r[b] + "\n" for r in rows)
with open(os.path.join(d, "both.txt"), "w", encoding="utf-8") as f:
    for l in open(os.path.join(d, "data", "train.jsonl"), encoding="utf-8"):
        r = json.loads(l)
        f.write(r["src"] + "\n" + r["tgt"] + "\n")
PY
fi
# one joint byte-level BPE for both languages, </s> and <pad> its last ids
V=4000
[ -f "$DIR/tok/tokenizer.json" ] || "$G" tokenizer-train --input "$DIR/both.txt" --vocab-size $V --out "$DIR/tok" \
    --no-default-special --special '</s>' '<pad>'
flock -u 9
for dir in $DIRS; do
    R=$DIR/$dir
    rm -rf "$R/init" "$R/run"
    "$G" init --arch marian --preset marian-tiny --d-model 128 --encoder-layers 3 --decoder-layers 3 \
        --encoder-attention-heads 4 --decoder-attention-heads 4 --encoder-ffn-dim 512 --decoder-ffn-dim 512 \
        --max-position-embeddings 128 --vocab-size $V --eos-token-id $((V - 2)) --pad-token-id $((V - 1)) \
        --scale-embedding --dropout 0 --out "$R/init"
    cp "$DIR/tok"/* "$R/init/"
    # MIN minutes of training: the trainer stops on SIGINT with a checkpoint (a model
    # directory) at the step it reached; constant lr after warmup, so no schedule is cut
    timeout -s INT "${MIN}m" "$G" finetune --task translate --model "$R/init" --train "$R/train.tsv" \
        --val "$R/val.tsv" --out "$R/run" --lr 1e-3 --warmup-steps 200 --lr-schedule constant --weight-decay 0.01 \
        --label-smoothing 0.1 --batch-size 32 --max-steps 1000000 --eval-every 500 --max-source-length 64 \
        --max-target-length 64 --group-by-length --threads "$TH" --json >"$R/finetune.json" || true
    M=$R/run/model
    [ -f "$M/config.json" ] || M=$R/run/checkpoints/step-$(ls "$R/run/checkpoints" | sed -n 's/^step-//p' | sort -n | tail -n 1)
    echo "$dir: model $M" >&2
    "$G" translate --model "$M" --input "$R/test.src" --max-new-tokens 96 --threads "$TH" >"$R/test.greedy"
    "$G" translate --model "$M" --input "$R/test.src" --max-new-tokens 96 --num-beams 4 --threads "$TH" \
        >"$R/test.beam4"
    for h in greedy beam4; do
        "$G" eval --task translate --hyp "$R/test.$h" --ref "$R/test.ref" --json >"$R/score.$h.json"
    done
    "$G" eval --task translate --hyp "$R/test.src" --ref "$R/test.ref" --json >"$R/score.copy.json"
done
$PY - "$DIR" <<'PY'
import json, os, sys
d = sys.argv[1]
out = {}
for dir in ("en-ko", "ko-en"):
    if not os.path.exists(os.path.join(d, dir, "score.beam4.json")):
        continue
    out[dir] = {k: json.load(open(os.path.join(d, dir, "score.%s.json" % k))) for k in ("copy", "greedy", "beam4")}
    steps = [json.loads(l) for l in open(os.path.join(d, dir, "run", "metrics.jsonl")) if "train_loss" in l]
    evals = [json.loads(l) for l in open(os.path.join(d, dir, "run", "metrics.jsonl")) if "val_loss" in l]
    out[dir]["train"] = {"steps": steps[-1]["step"], "elapsed_s": steps[-1]["elapsed_s"],
                         "train_loss": steps[-1]["train_loss"], "val_loss": evals[-1]["val_loss"] if evals else None}
json.dump(out, open(os.path.join(d, "scores.json") if len(out) == 2 else os.path.join(d, "scores.%s.json" % list(out)[0]), "w"), indent=1)
for dir, s in out.items():
    print("%s: BLEU copy %.2f greedy %.2f beam4 %.2f | chrF copy %.2f greedy %.2f beam4 %.2f" % (
        dir, s["copy"]["bleu"], s["greedy"]["bleu"], s["beam4"]["bleu"],
        s["copy"]["chrf"], s["greedy"]["chrf"], s["beam4"]["chrf"]))
PY
