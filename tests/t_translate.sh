#!/usr/bin/env bash
# t_translate.sh: the translation pipeline in a minute on a synthetic language pair:
# "English" sentences of 3-7 words from 40 words, their "translation" the words mapped
# one to one onto 40 other words (seed printed). A joint BPE
# (tokenizer-train, </s> and <pad>), gptc init --arch marian (d_model 48, 2 + 2 layers,
# 2 heads, ffn 96), finetune --task translate (TSV train, JSONL val, label smoothing 0.1,
# lr 3e-3, 240 steps of 32, --metric bleu): the translations of held-out sentences must beat copying the
# source in BLEU and chrF (sacreBLEU's definitions, gptc eval); eval --task translate
# --data gives the loss over the file; a run stopped at step 30 and resumed to 60 ends
# with the same weights as one run of 60 steps, with --group-by-length too; broken pair
# files fail with the file and line named and write nothing.
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
F=$GPTC
SEED=${TRANSLATE_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED"
$PY - "$SEED" "$T" <<'PY'
import json, random, sys
r = random.Random(int(sys.argv[1])); d = sys.argv[2]
src = ["w%02d" % i for i in range(40)]
tgt = ["t%02d" % i for i in range(40)]
r.shuffle(tgt)
m = dict(zip(src, tgt))
def pair():
    s = [r.choice(src) for _ in range(r.randint(3, 7))]
    return " ".join(s), " ".join(m[w] for w in s)
with open(d + "/train.tsv", "w") as f:
    for _ in range(1500): f.write("%s\t%s\n" % pair())
with open(d + "/val.jsonl", "w") as f, open(d + "/val.tsv", "w") as g:
    for _ in range(40): a, b = pair(); f.write(json.dumps({"src": a, "tgt": b}) + "\n"); g.write("%s\t%s\n" % (a, b))
with open(d + "/test.src", "w") as fs, open(d + "/test.ref", "w") as fr:
    for _ in range(60): a, b = pair(); fs.write(a + "\n"); fr.write(b + "\n")
with open(d + "/text.txt", "w") as f:
    for l in open(d + "/train.tsv"): f.write(l.replace("\t", "\n"))
PY
"$F" tokenizer-train --input "$T/text.txt" --vocab-size 400 --out "$T/tok" --no-default-special --special '</s>' '<pad>' \
    >/dev/null 2>"$T/err" || fail translate_tokenizer "$(head -c 300 "$T/err")"
# the ids of </s> and <pad> (training may stop before 400 tokens when no pair is frequent)
read -r EOS PAD < <($PY -c "import json,sys; a={t['content']: t['id'] for t in json.load(open(sys.argv[1]))['added_tokens']}; print(a['</s>'], a['<pad>'])" "$T/tok/tokenizer.json")
"$F" init --arch marian --preset marian-tiny --d-model 48 --encoder-layers 2 --decoder-layers 2 --encoder-attention-heads 2 \
    --decoder-attention-heads 2 --encoder-ffn-dim 96 --decoder-ffn-dim 96 --max-position-embeddings 64 \
    --vocab-size $((PAD + 1)) --eos-token-id "$EOS" --pad-token-id "$PAD" --dropout 0.1 --out "$T/init" >/dev/null 2>"$T/err" ||
    fail translate_init "$(head -c 300 "$T/err")"
cp "$T/tok"/* "$T/init/"
OPTS=(--task translate --model "$T/init" --train "$T/train.tsv" --lr 3e-3 --warmup-steps 20 --batch-size 32
      --label-smoothing 0.1 --threads 2 --seed 7)
if "$F" finetune "${OPTS[@]}" --val "$T/val.jsonl" --out "$T/run" --max-steps 240 --eval-every 80 --metric bleu \
       --json >"$T/ft.json" 2>"$T/err"; then
    pass "translate_finetune ($(cat "$T/ft.json"))"
else fail translate_finetune "$(tail -c 400 "$T/err")"; fi
"$F" translate --model "$T/run/model" --input "$T/test.src" --max-new-tokens 20 --threads 2 >"$T/test.hyp" 2>"$T/err" ||
    fail translate_run "$(head -c 300 "$T/err")"
"$F" translate --model "$T/run/model" --input "$T/test.src" --max-new-tokens 20 --num-beams 4 --threads 2 \
    >"$T/test.beam" 2>"$T/err" || fail translate_run_beam "$(head -c 300 "$T/err")"
score() { "$F" eval --task translate --hyp "$1" --ref "$T/test.ref" --json | $PY -c "import json,sys; d=json.load(sys.stdin); print('%.2f %.2f' % (d['bleu'], d['chrf']))"; }
read -r cb cc < <(score "$T/test.src")
read -r gb gc < <(score "$T/test.hyp")
read -r bb bc < <(score "$T/test.beam")
if $PY -c "import sys; sys.exit(not ($gb > $cb and $gc > $cc and $bb > $cb and $bc > $cc))"; then
    pass "translate_beats_copy (BLEU copy $cb, greedy $gb, beam 4 $bb; chrF copy $cc, greedy $gc, beam 4 $bc)"
else fail translate_beats_copy "BLEU copy $cb, greedy $gb, beam 4 $bb; chrF copy $cc, greedy $gc, beam 4 $bc"; fi
best=$($PY -c "import json; print(json.load(open('$T/ft.json')).get('bleu'))")
[ "$best" != None ] && pass "translate_metric_bleu (best validation BLEU $best)" || fail translate_metric_bleu "no bleu in $(cat "$T/ft.json")"
# loss over the file: the same pairs as JSONL text and as TSV give the same loss
"$G" eval --task translate --model "$T/run/model" --data "$T/val.jsonl" --json >"$T/ev.json" 2>"$T/err" ||
    fail translate_eval_data "$(head -c 300 "$T/err")"
"$G" eval --task translate --model "$T/run/model" --data "$T/val.tsv" --json >"$T/ev2.json" 2>>"$T/err"
if $PY -c "import json,sys; a=json.load(open('$T/ev.json')); b=json.load(open('$T/ev2.json')); sys.exit(not (a['tokens'] > 0 and abs(a['loss']-b['loss']) < 1e-6 and a['tokens']==b['tokens']))"; then
    pass "translate_eval_data ($(cat "$T/ev.json"))"
else fail translate_eval_data "$(cat "$T/ev.json" "$T/ev2.json") $(head -c 200 "$T/err")"; fi
# exact resume: 30 steps, then --resume to 60 == 60 steps at once
R=(--max-steps 60 --save-every 30 --eval-every 0 --lr-schedule constant) # the schedule must not depend on max-steps
"$F" finetune "${OPTS[@]}" --out "$T/once" "${R[@]}" >/dev/null 2>"$T/err" || fail translate_resume "$(tail -c 300 "$T/err")"
"$F" finetune "${OPTS[@]}" --out "$T/twice" --max-steps 30 --save-every 30 --eval-every 0 --lr-schedule constant >/dev/null 2>"$T/err"
"$F" finetune "${OPTS[@]}" --out "$T/twice" "${R[@]}" --resume >/dev/null 2>>"$T/err"
if cmp -s "$T/once/model/model.safetensors" "$T/twice/model/model.safetensors"; then pass translate_resume_exact
else fail translate_resume_exact "weights differ after resume: $(tail -c 300 "$T/err")"; fi
# the same with --group-by-length (batches of similar lengths; a function of seed and position)
"$F" finetune "${OPTS[@]}" --group-by-length --out "$T/gonce" "${R[@]}" >/dev/null 2>"$T/err" ||
    fail translate_grouped "$(tail -c 300 "$T/err")"
"$F" finetune "${OPTS[@]}" --group-by-length --out "$T/gtwice" --max-steps 30 --save-every 30 --eval-every 0 \
    --lr-schedule constant >/dev/null 2>"$T/err"
"$F" finetune "${OPTS[@]}" --group-by-length --out "$T/gtwice" "${R[@]}" --resume >/dev/null 2>>"$T/err"
if cmp -s "$T/gonce/model/model.safetensors" "$T/gtwice/model/model.safetensors" &&
    ! cmp -s "$T/gonce/model/model.safetensors" "$T/once/model/model.safetensors"; then pass translate_grouped_resume_exact
else fail translate_grouped_resume_exact "weights differ after resume, or equal the ungrouped run's: $(tail -c 300 "$T/err")"; fi
expect_error translate_group_refused 'group-by-length are for --task translate' "$G" finetune --task classify \
    --model "$T/init" --train "$T/train.tsv" --out "$T/x" --group-by-length
# broken pair files: file and line named, no output directory
printf 'a b\tc d\nno tab here\n' >"$T/bad.tsv"
expect_error translate_bad_tsv 'bad.tsv:2: expected source<TAB>target \(no tab\)' "$G" finetune "${OPTS[@]/$T\/train.tsv/$T/bad.tsv}" --out "$T/bad1"
printf 'a\tb\n\tc\n' >"$T/bad2.tsv"
expect_error translate_empty_side 'bad2.tsv:2: the source side is empty' "$G" finetune "${OPTS[@]/$T\/train.tsv/$T/bad2.tsv}" --out "$T/bad2"
printf '{"src": "a", "tgt": "b"}\n{"src": "a", "tgt": 5}\n' >"$T/bad3.jsonl"
expect_error translate_bad_jsonl 'bad3.jsonl:2: field "tgt" is missing or not a string' "$G" finetune "${OPTS[@]}" --val "$T/bad3.jsonl" --out "$T/bad3"
[ ! -e "$T/bad1" ] && [ ! -e "$T/bad2" ] && [ ! -e "$T/bad3" ] && pass translate_bad_nothing_written || fail translate_bad_nothing_written "an output directory was made"
"$F" init --out "$T/gpt" --preset tiny >/dev/null 2>&1
expect_error translate_gpt2_refused 'is not a translation model' "$G" finetune --task translate --model "$T/gpt" --train "$T/train.tsv" --out "$T/x"
rm -rf "$T"
