#!/usr/bin/env bash
# t_bert_lora.sh: PEFT LoRA on BERT end to end. The adapter's math (forward, loss, the
# gradients of lora_A, lora_B and the head, AdamW steps) against PyTorch is
# tests/t_bert_ref.sh's lora_cls / lora_qa cases. Here a BERT made by `gptc init --arch
# bert` (2 layers, 2 heads, hidden 48, untrained) with a WordPiece vocabulary of the data's
# words is fine-tuned with `gptc finetune --task classify --lora` (PEFT's BERT default
# target_modules query,value; r 4, alpha 16, dropout 0.05, 20 epochs, lr 1e-2, batch 16) on
# 400 sentences of 3-8 words labelled by whether more than half their words are among 10 of
# the 20 (no ties):
# (1) OUT/model holds the base beside adapter_config.json + adapter_model.safetensors in
#     PEFT's names and shapes (base_model.model.bert.encoder.layer.N.attention.self.query.
#     lora_A.weight [r, in], lora_B [out, r]; the classifier as modules_to_save;
#     fan_in_fan_out false), and the base's encoder weights are the init's (frozen);
# (2) it learns (held-out accuracy by `gptc eval` with the adapter dir > the majority
#     class's + 0.15; measured 0.90-0.99 against 0.50-0.57);
# (3) `gptc merge-lora` gives a plain BertForSequenceClassification whose `classify`
#     probabilities equal those of the adapter on the base (1e-4), and its weights are
#     W + (alpha / r) B A recomputed here in numpy from the two files (1e-5);
# (4) a QA fine-tune with --lora on all six module kinds: `gptc answer` with the adapter
#     dir = with the merged model (the span; the score to 1e-4);
# (5) target lists that match nothing, or BERT's pooler, are refused naming the option; an
#     adapter whose tensors do not fit its r names the file and the tensor.
source "$(dirname "$0")/lib.sh"
SEED=${GPTC_TEST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"
rc=0

# the vocabulary: BERT's five specials, the 20 words of the data, QA's question words
WORDS="red green blue cat dog bird runs sleeps eats fast slow big small house tree sun moon day night rain"
mkdir -p "$T/tok"
printf '%s\n' "[PAD]" "[UNK]" "[CLS]" "[SEP]" "[MASK]" $WORDS the end what after "?" >"$T/tok/vocab.txt"
$PY - "$T" "$SEED" "$WORDS" <<'PY'
import json, random, sys
d, r, words = sys.argv[1], random.Random(int(sys.argv[2])), sys.argv[3].split()
pos = set(words[:10])  # a sentence is "yes" when more than half its words are among the first 10
def row():
    while True:
        a = [r.choice(words) for _ in range(r.randint(3, 8))]
        k = sum(w in pos for w in a)
        if 2 * k != len(a):
            return " ".join(a), "yes" if 2 * k > len(a) else "no"
for name, n in (("train", 400), ("test", 100)):
    with open("%s/%s.jsonl" % (d, name), "w") as f:
        for _ in range(n):
            t, y = row()
            f.write(json.dumps({"text": t, "label": y}) + "\n")
with open(d + "/test.txt", "w") as f:
    for l in open(d + "/test.jsonl"):
        f.write(json.loads(l)["text"] + "\n")
# QA: the answer is the word after "the"
with open(d + "/qa.jsonl", "w") as f:
    for _ in range(64):
        a = [r.choice(words) for _ in range(r.randint(4, 9))]
        k = r.randrange(len(a))
        a.insert(k, "the")
        ctx = " ".join(a) + " end"
        ans = (a + ["end"])[k + 1]
        start = len(" ".join(a[:k + 1])) + 1
        f.write(json.dumps({"context": ctx, "question": "what after the?", "answers": {"text": [ans], "answer_start": [start]}}) + "\n")
PY
V=$(wc -l <"$T/tok/vocab.txt")
if $GPTC init --out "$T/bert" --arch bert --preset bert-tiny --num-hidden-layers 2 --num-attention-heads 2 --hidden-size 48 \
        --intermediate-size 96 --max-position-embeddings 32 --vocab-size "$V" --seed $((SEED % 1000)) >"$T/init.log" 2>&1; then
    cp "$T/tok/vocab.txt" "$T/bert/"
else
    fail "init --arch bert" "$(tail -2 "$T/init.log")"; rm -rf "$T"; exit 1
fi

# ---------------------------------------------------------------- 1-3. classification
nice $GPTC finetune --task classify --lora --lora-r 4 --model "$T/bert" --train "$T/train.jsonl" --out "$T/cls" --epochs 20 \
    --lr 1e-2 --batch-size 16 --seed $((SEED % 1000)) >"$T/cls.log" 2>&1 || { fail "finetune --lora (BERT)" "$(tail -2 "$T/cls.log")"; rc=1; }
$GPTC_ASAN eval --task classify --model "$T/cls/model" --data "$T/test.jsonl" --json >"$T/eval.json" 2>"$T/err" ||
    { fail "eval with a BERT adapter" "$(head -c 300 "$T/err")"; rc=1; }
$GPTC merge-lora --model "$T/cls/model" --out "$T/merged" >/dev/null 2>"$T/err" || { fail "merge-lora (BERT)" "$(head -c 300 "$T/err")"; rc=1; }
$GPTC_ASAN classify --model "$T/cls/model" --json "$T/test.txt" >"$T/a.jsonl" 2>"$T/err" ||
    { fail "classify with a BERT adapter" "$(head -c 300 "$T/err")"; rc=1; }
$GPTC classify --model "$T/merged" --json "$T/test.txt" >"$T/b.jsonl" 2>"$T/err" ||
    { fail "classify with the merged BERT" "$(head -c 300 "$T/err")"; rc=1; }
$PY - "$T" "$ROOT/tests/ref" <<'PY' || rc=1
import json, sys
import numpy as np
d = sys.argv[1]
sys.path.insert(0, sys.argv[2])
from gpt2_torch import st_read
def res(name, ok, why, info=""):
    print(("PASS %s%s" % (name, ": " + info if info else "")) if ok else "FAIL %s: %s" % (name, why))
    return ok
good = True
ac = json.load(open(d + "/cls/model/adapter_config.json"))
ad = st_read(d + "/cls/model/adapter_model.safetensors")
base, init = st_read(d + "/cls/model/model.safetensors"), st_read(d + "/bert/model.safetensors")
want = {"base_model.model.classifier.weight": (2, 48), "base_model.model.classifier.bias": (2,)}
for l in range(2):
    for m in ("query", "value"):
        pre = "base_model.model.bert.encoder.layer.%d.attention.self.%s." % (l, m)
        want[pre + "lora_A.weight"], want[pre + "lora_B.weight"] = (4, 48), (48, 4)
got = {k: v.shape for k, v in ad.items()}
good &= res("BERT adapter: PEFT names and shapes (A [r, in], B [out, r], classifier as modules_to_save)", got == want,
            "got %s" % sorted(set(got.items()) ^ set(want.items()))[:4], "%d tensors" % len(got))
cfg_ok = (ac["target_modules"] == ["query", "value"] and ac["fan_in_fan_out"] is False and ac["modules_to_save"] == ["classifier"]
          and ac["task_type"] == "SEQ_CLS" and ac["r"] == 4 and ac["lora_alpha"] == 16)
good &= res("BERT adapter_config.json: PEFT's BERT defaults (query, value), nn.Linear, SEQ_CLS", cfg_ok, json.dumps(ac))
enc = [k for k in init if k.startswith("bert.encoder.")]
frozen = enc and all(k in base and np.array_equal(base[k], init[k]) for k in enc)
good &= res("BERT base frozen under LoRA (encoder weights = the init's)", frozen, "the base's encoder moved")
nb = min(np.linalg.norm(v) for k, v in ad.items() if "lora_B" in k)
good &= res("BERT adapter trained (every lora_B moved from 0)", nb > 1e-4, "min |B| %g" % nb)
e = json.load(open(d + "/eval.json"))
acc = e.get("accuracy", 0)
ys = [json.loads(l)["label"] for l in open(d + "/test.jsonl")]
maj = max(ys.count(y) for y in set(ys)) / len(ys)
good &= res("finetune --lora on a BERT learns (held-out accuracy > majority class + 0.15)", acc > maj + 0.15,
            "accuracy %s, majority %.2f" % (acc, maj), "accuracy %.2f, majority %.2f" % (acc, maj))
a = [json.loads(l) for l in open(d + "/a.jsonl")]
b = [json.loads(l) for l in open(d + "/b.jsonl")]
dp = max(abs(x["probabilities"][k] - y["probabilities"][k]) for x, y in zip(a, b) for k in x["probabilities"]) if a else 1
good &= res("merge-lora (BERT): classify merged = adapter on base", len(a) == len(b) == 100 and dp < 1e-4,
            "max probability difference %g" % dp, "max probability difference %.2g" % dp)
mg = st_read(d + "/merged/model.safetensors")
s = ac["lora_alpha"] / ac["r"]
worst = 0.0
for l in range(2):
    for m in ("query", "value"):
        k = "bert.encoder.layer.%d.attention.self.%s.weight" % (l, m)
        pre = "base_model.model.bert.encoder.layer.%d.attention.self.%s." % (l, m)
        w = base[k].astype(np.float64) + s * ad[pre + "lora_B.weight"].astype(np.float64) @ ad[pre + "lora_A.weight"].astype(np.float64)
        worst = max(worst, np.linalg.norm(mg[k] - w) / np.linalg.norm(w))
hd = max(np.abs(mg["classifier." + n] - ad["base_model.model.classifier." + n]).max() for n in ("weight", "bias"))
good &= res("merge-lora (BERT): W + (alpha/r) B A, the adapter's classifier", worst < 1e-5 and hd == 0 and
            not any(".lora_" in k for k in mg), "rel err %g, head diff %g" % (worst, hd), "rel err %.2g" % worst)
sys.exit(0 if good else 1)
PY

# ---------------------------------------------------------------- 4. QA with an adapter
echo "red cat the sun runs end" >"$T/ctx.txt"
nice $GPTC finetune --task qa --lora --lora-r 3 --lora-alpha 6 --lora-dropout 0.1 \
    --lora-target-modules query,key,value,attention.output.dense,intermediate.dense,output.dense --model "$T/bert" \
    --train "$T/qa.jsonl" --out "$T/qa" --max-steps 8 --batch-size 8 --max-length 24 --stride 6 --seed $((SEED % 1000)) \
    >"$T/qa.log" 2>&1 || { fail "finetune --task qa --lora (BERT)" "$(tail -2 "$T/qa.log")"; rc=1; }
$GPTC merge-lora --model "$T/qa/model" --out "$T/qam" >/dev/null 2>"$T/err" || { fail "merge-lora (BERT QA)" "$(head -c 300 "$T/err")"; rc=1; }
n_ad=$(grep -ao 'lora_A.weight' "$T/qa/model/adapter_model.safetensors" | wc -l)
[ "$n_ad" = 12 ] && pass "QA adapter on all six module kinds (12 lora_A)" || { fail "QA adapter on all six module kinds" "$n_ad lora_A"; rc=1; }
$GPTC_ASAN answer --model "$T/qa/model" --question "what after the?" --context "$T/ctx.txt" --json >"$T/qa_a.json" 2>"$T/err" &&
    $GPTC answer --model "$T/qam" --question "what after the?" --context "$T/ctx.txt" --json >"$T/qa_b.json" 2>>"$T/err" &&
    $PY -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); sys.exit(not (a["answer"] == b["answer"] and abs(a["score"] - b["score"]) < 1e-4))' \
        "$T/qa_a.json" "$T/qa_b.json" && pass "answer (BERT QA): adapter on base = merged (span, score to 1e-4)" ||
    { fail "answer (BERT QA): adapter on base = merged" "$(head -c 300 "$T/err") $(cat "$T/qa_a.json" "$T/qa_b.json" 2>/dev/null | head -c 300)"; rc=1; }

# ---------------------------------------------------------------- 5. refused targets
expect_error "BERT LoRA: GPT-2's module names match nothing" "LoRA: target modules 'c_attn' match no layer \(use query, key" \
    $GPTC_ASAN finetune --task classify --lora --lora-target-modules c_attn --model "$T/bert" --train "$T/train.jsonl" --out "$T/x1"
expect_error "BERT LoRA: the pooler is refused" "match bert.pooler.dense" \
    $GPTC_ASAN finetune --task classify --lora --lora-target-modules dense --model "$T/bert" --train "$T/train.jsonl" --out "$T/x2"
rm -rf "$T/badr"; cp -r "$T/cls/model" "$T/badr"
$PY -c 'import json, sys; p = sys.argv[1]; c = json.load(open(p)); c["r"] = 5; json.dump(c, open(p, "w"))' "$T/badr/adapter_config.json"
expect_error "BERT adapter whose tensors do not fit its r: names the file and tensor" \
    "badr/adapter_model.safetensors: tensor base_model.model.bert.encoder.layer.0.attention.self.query.lora_A.weight has the wrong shape for r=5" \
    $GPTC_ASAN classify --model "$T/badr" "$T/test.txt"
[ ! -e "$T/x1" ] && [ ! -e "$T/x2" ] && pass "refused LoRA runs leave no OUT" || { fail "refused LoRA runs leave no OUT" "$(ls "$T")"; rc=1; }

rm -rf "$T"
exit $rc
