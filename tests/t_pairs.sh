#!/usr/bin/env bash
# t_pairs.sh: sentence-pair classification data. GPT-2's pair input is A <|endoftext|> B
# (ids checked against npm tiktoken's encodings of A and B); `gptc finetune --task classify
# --text-pair-column` trains on CSV and JSONL pairs, `gptc eval --task classify` reports
# accuracy, the positive class's F1 and Matthews correlation on them and `gptc classify
# --pairs` predicts the same labels; WordPiece inputs carry token types, which a GPT-2
# model refuses; a missing pair column fails naming the file.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export GPTC_DATA_DIR=${GPTC_DATA_DIR:-$ROOT/build/share/gptc}
G=$GPTC
"$G" init --out "$T/base" --preset tiny --n-positions 64 --seed 3 >/dev/null 2>&1 || fail init "gptc init failed"
$PY - "$T" <<'PYEOF'
import csv, json, random, sys
t = sys.argv[1]
r = random.Random(1)
words = "red green blue cat dog bird runs sleeps eats fast slow big small 빨간 고양이".split()
rows = []
for i in range(240):
    a = " ".join(r.choice(words) for _ in range(r.randrange(2, 6)))
    same = r.random() < 0.5
    b = a if same else " ".join(r.choice(words) for _ in range(r.randrange(2, 6)))
    rows.append((a, b, int(same)))
with open(t + "/train.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["sentence1", "sentence2", "label"])
    w.writerows(rows[:200])
with open(t + "/test.csv", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["sentence1", "sentence2", "label"])
    w.writerows(rows[200:])
with open(t + "/train.jsonl", "w", encoding="utf-8") as f:
    for a, b, l in rows[:200]: f.write(json.dumps({"text": a, "text_pair": b, "label": l}, ensure_ascii=False) + "\n")
with open(t + "/test.pairs", "w", encoding="utf-8") as f:
    for a, b, l in rows[200:]: f.write(f"{a}\t{b}\n")
open(t + "/a.txt", "w", encoding="utf-8").write(rows[3][0] + ", said 고양이")
open(t + "/b.txt", "w", encoding="utf-8").write(" " + rows[3][1] + "\n")
PYEOF
# A <|endoftext|> B against tiktoken
node -e '
const { get_encoding } = require("tiktoken");
const fs = require("fs");
const e = get_encoding("gpt2");
const ids = [...e.encode(fs.readFileSync(process.argv[1], "utf8")), 50256, ...e.encode(fs.readFileSync(process.argv[2], "utf8"))];
console.log(ids.join(" "));' "$T/a.txt" "$T/b.txt" >"$T/want" 2>"$T/err" || fail pair_ids "node tiktoken failed: $(head -c 300 "$T/err")"
"$G" tokenize --model "$T/base" --pair "$T/b.txt" "$T/a.txt" | cmp -s - "$T/want" && pass "pair_ids_gpt2 (A <|endoftext|> B)" ||
    fail pair_ids_gpt2 "ids differ from tiktoken's A + [50256] + B"

"$G" finetune --task classify --model "$T/base" --train "$T/train.csv" --val "$T/test.csv" --text-column sentence1 \
    --text-pair-column sentence2 --out "$T/run" --max-steps 30 --batch-size 8 --lr 1e-3 >"$T/ft.log" 2>&1
check finetune_pairs_csv test -f "$T/run/model/model.safetensors"
"$G" finetune --task classify --model "$T/base" --train "$T/train.jsonl" --text-pair-column text_pair --out "$T/runj" \
    --max-steps 30 --batch-size 8 --lr 1e-3 >"$T/ftj.log" 2>&1
check finetune_pairs_jsonl test -f "$T/runj/model/model.safetensors"
"$G" eval --task classify --model "$T/run/model" --data "$T/test.csv" --text-column sentence1 --text-pair-column sentence2 \
    --json >"$T/eval.json" || fail eval_pairs "gptc eval failed"
"$G" classify --model "$T/run/model" --pairs --json "$T/test.pairs" >"$T/cls.jsonl" || fail classify_pairs "gptc classify failed"
$PY - "$T" <<'PYEOF' && pass "eval_and_classify_pairs agree" || fail eval_and_classify_pairs "reports disagree"
import csv, json, math, sys
t = sys.argv[1]
e = json.load(open(t + "/eval.json"))
gold = [r["label"] for r in csv.DictReader(open(t + "/test.csv", encoding="utf-8"))]
pred = [json.loads(l)["label"] for l in open(t + "/cls.jsonl", encoding="utf-8")]
assert len(pred) == len(gold) == 40
acc = sum(p == g for p, g in zip(pred, gold)) / len(gold)
tp = sum(p == g == "1" for p, g in zip(pred, gold)); fp = sum(p == "1" != g for p, g in zip(pred, gold))
fn = sum(g == "1" != p for p, g in zip(pred, gold)); tn = len(gold) - tp - fp - fn
f1 = 2 * tp / (2 * tp + fp + fn) if tp else 0.0
den = math.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
mcc = (tp * tn - fp * fn) / den if den else 0.0
assert abs(e["accuracy"] - acc) < 1e-6 and abs(e["f1"] - f1) < 1e-6 and abs(e["mcc"] - mcc) < 1e-6, (e, acc, f1, mcc)
print("held-out accuracy %.3f f1 %.3f mcc %.3f" % (acc, f1, mcc))
PYEOF

# WordPiece inputs ([CLS] A [SEP] B [SEP] with token types) are for BERT: a GPT-2 refuses them
mkdir -p "$T/wp"
cp "$T/base/config.json" "$T/base/model.safetensors" "$T/wp/"
printf '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nred\ngreen\nblue\ncat\ndog\n' >"$T/wp/vocab.txt"
expect_error pairs_token_types_gpt2 "token types" "$G" finetune --task classify --model "$T/wp" --train "$T/train.csv" \
    --text-column sentence1 --text-pair-column sentence2 --out "$T/wprun" --max-steps 2
expect_error pairs_missing_column "train.csv:1: no text pair column 'nope'" "$G" finetune --task classify --model "$T/base" \
    --train "$T/train.csv" --text-column sentence1 --text-pair-column nope --out "$T/bad" --max-steps 2
expect_error pairs_missing_key "train.jsonl:1: field \"nope\" is missing" "$G" finetune --task classify --model "$T/base" \
    --train "$T/train.jsonl" --text-pair-column nope --out "$T/bad" --max-steps 2
printf 'no tab here\n' | expect_error classify_pairs_no_tab "has no tab" "$G" classify --model "$T/run/model" --pairs
rm -rf "$T"
