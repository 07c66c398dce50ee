#!/usr/bin/env bash
# t_translate_ref.sh: `gptc translate`'s greedy decoding and beam search on Marian models
# against plain Python loops over the full forward (tests/ref/translate_ref.py on
# tests/ref/marian_torch.py, float64, no cache; Hugging Face's generate() semantics).
# Models: random MarianMTModels made by marian_torch.py make-model (vocab 53, pad =
# decoder_start = 52, eos 0; d_model 21, 2 + 1 layers, 3 heads, ffn 37 / 29, 40 positions;
# gelu, tied and shared; then relu with unshared, untied embeddings and scaled
# embeddings; then one whose eos is the token greedy decoding produces most, so that
# sequences and hypotheses end at different lengths). Sources: 12 random id lines (1..51, 1-12 ids, then eos), seed printed.
# Checks: greedy (bad_words_ids [[52]] and forced_eos_token_id 0 from
# generation_config.json, max_new_tokens 10); beam search with 3 beams, length_penalty
# 0.8, no_repeat_ngram_size 2, max_new_tokens 9; beam search with 4 beams and
# length_penalty 1.3, without forced eos; a model whose eos is never likely (runs to the
# length). Batches: those runs use the default --batch-size 16 (the 12 sources decode
# together); the beam-3 run with --batch-size 5 (batches of 5, 5, 2 sorted by length)
# is checked against the reference too, and greedy, beam-3 and sampled runs (do_sample,
# top_k 5, temperature 1.7, seed 7, 2 return sequences) with --batch-size 1, 5 and 16 give
# the same JSON byte for byte. eval --task translate --data (23 examples of ids, masks with padding, -100
# labels, batches of 5) against the reference loss over the whole file (1e-5).
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
REF=$ROOT/tests/ref
SEED=${TR_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED"
$PY - "$SEED" >"$T/src.txt" <<'PY'
import random, sys
r = random.Random(int(sys.argv[1]))
for _ in range(12):
    print(" ".join(str(r.randrange(1, 52)) for _ in range(r.randint(1, 12))) + " 0")
PY
run() { # TAG MODEL MODE GPTC-OPTIONS -- REF-OPTIONS
    local tag=$1 m=$2 mode=$3; shift 3
    local go=() ro=()
    while [ "$1" != -- ]; do go+=("$1"); shift; done; shift
    ro=("$@")
    if ! "$G" translate --model "$m" --src-tokens "$T/src.txt" --json "${go[@]}" >"$T/$tag.jsonl" 2>"$T/err"; then
        fail "$tag" "gptc translate: $(head -c 300 "$T/err")"; return; fi
    $PY "$REF/translate_ref.py" "$m" "$T/src.txt" "$T/$tag.jsonl" "$mode" --tag "$tag" "${ro[@]}" 2>"$T/err" ||
        [ -s "$T/err" ] && grep -v '^$' "$T/err" | tail -n 2 | sed 's/^/  /'
}
for variant in a b c; do
    M=$T/m$variant
    if [ $variant = a ]; then
        $PY "$REF/marian_torch.py" make-model --out "$M" --seed $SEED --positions 40 --pad 52
    elif [ $variant = c ]; then
        # eos = the token greedy decoding produces most (in its second half), so that
        # sequences and hypotheses end by themselves at different lengths
        $PY "$REF/marian_torch.py" make-model --out "$M" --seed $((SEED + 2)) --positions 40 --pad 52
        "$G" translate --model "$M" --src-tokens "$T/src.txt" --max-new-tokens 10 >"$T/pre.txt" 2>/dev/null
        E=$(awk '{ for (i = 4; i < NF; i++) if ($i != 52) c[$i]++ } END { b = 1; for (k in c) if (c[k] > c[b]) b = k; print b }' "$T/pre.txt")
        $PY - "$M/config.json" "$E" <<'PY'
import json, sys
c = json.load(open(sys.argv[1])); c["eos_token_id"] = int(sys.argv[2]); json.dump(c, open(sys.argv[1], "w"))
PY
    else
        $PY "$REF/marian_torch.py" make-model --out "$M" --seed $((SEED + 1)) --positions 40 --pad 52 --act relu \
            --unshared --untied --scale --enc-layers 1 --dec-layers 2
    fi
    E=$($PY -c 'import json, sys; print(json.load(open(sys.argv[1]))["eos_token_id"])' "$M/config.json")
    printf '{"bad_words_ids": [[52]], "forced_eos_token_id": %d, "decoder_start_token_id": 52, "eos_token_id": %d}\n' \
        "$E" "$E" >"$M/generation_config.json"
    run "translate_greedy_$variant" "$M" greedy --max-new-tokens 10 -- --max-new-tokens 10 --bad-words 52 --forced-eos
    run "translate_beam3_$variant" "$M" beam --max-new-tokens 9 --num-beams 3 --length-penalty 0.8 --no-repeat-ngram-size 2 -- \
        --max-new-tokens 9 --num-beams 3 --length-penalty 0.8 --no-repeat-ngram-size 2 --bad-words 52 --forced-eos
    run "translate_beam3_batch5_$variant" "$M" beam --batch-size 5 --max-new-tokens 9 --num-beams 3 --length-penalty 0.8 \
        --no-repeat-ngram-size 2 -- --max-new-tokens 9 --num-beams 3 --length-penalty 0.8 --no-repeat-ngram-size 2 \
        --bad-words 52 --forced-eos
    for mode in greedy beam sample; do
        case $mode in
            greedy) mo=(--max-new-tokens 10) ;;
            beam) mo=(--max-new-tokens 9 --num-beams 3 --length-penalty 0.8 --no-repeat-ngram-size 2) ;;
            sample) mo=(--max-new-tokens 10 --do-sample --top-k 5 --temperature 1.7 --seed 7 --num-return-sequences 2) ;;
        esac
        ok=1
        for bs in 1 5 16; do
            "$G" translate --model "$M" --src-tokens "$T/src.txt" --json --batch-size $bs "${mo[@]}" >"$T/bs$bs.jsonl" 2>"$T/err" ||
                { fail "translate_batch_${mode}_$variant" "--batch-size $bs: $(head -c 300 "$T/err")"; ok=0; break; }
        done
        [ $ok = 1 ] || continue
        if cmp -s "$T/bs1.jsonl" "$T/bs5.jsonl" && cmp -s "$T/bs1.jsonl" "$T/bs16.jsonl" && [ "$(wc -l <"$T/bs1.jsonl")" = 12 ]; then
            pass "translate_batch_${mode}_$variant (--batch-size 1, 5, 16: the same 12 lines)"
        else fail "translate_batch_${mode}_$variant" "outputs differ: $(diff "$T/bs1.jsonl" "$T/bs5.jsonl" | head -c 300)"; fi
    done
    # 40 sources: --batch-size 1 runs windows of 16 sentences (printed as each is done,
    # progress on stderr), --batch-size 16 one window; the same lines in input order
    { cat "$T/src.txt" "$T/src.txt" "$T/src.txt"; head -n 4 "$T/src.txt"; } >"$T/src40.txt"
    "$G" translate --model "$M" --src-tokens "$T/src40.txt" --json --batch-size 1 --max-new-tokens 10 >"$T/w1.jsonl" 2>"$T/w1.err"
    "$G" translate --model "$M" --src-tokens "$T/src40.txt" --json --batch-size 16 --max-new-tokens 10 >"$T/w16.jsonl" 2>"$T/err"
    "$G" translate --model "$M" --src-tokens "$T/src.txt" --json --batch-size 1 --max-new-tokens 10 >"$T/g12.jsonl" 2>/dev/null
    { cat "$T/g12.jsonl" "$T/g12.jsonl" "$T/g12.jsonl"; head -n 4 "$T/g12.jsonl"; } >"$T/g40.jsonl"
    if cmp -s "$T/w1.jsonl" "$T/w16.jsonl" && cmp -s "$T/w1.jsonl" "$T/g40.jsonl" && grep -q '^translate: 40/40 sentences' "$T/w1.err"; then
        pass "translate_windows_$variant (40 sources in windows of 16 == one window == the 12 repeated)"
    else fail "translate_windows_$variant" "outputs differ or no progress line: $(head -c 300 "$T/w1.err")"; fi
    printf '{"bad_words_ids": [[52]], "eos_token_id": %d}\n' "$E" >"$M/generation_config.json"
    run "translate_beam4_$variant" "$M" beam --max-new-tokens 11 --num-beams 4 --length-penalty 1.3 -- \
        --max-new-tokens 11 --num-beams 4 --length-penalty 1.3 --bad-words 52
done
# eval --task translate --data: ids with masks (padding inside a source), -100 labels
$PY - "$SEED" >"$T/ids.jsonl" <<'PY'
import json, random, sys
r = random.Random(int(sys.argv[1]) + 7)
for i in range(23):
    n, m = r.randint(1, 14), r.randint(1, 13)
    src = [r.randrange(1, 52) for _ in range(n - 1)] + [0]
    mask = [1] * n
    if i % 4 == 1 and n > 2:
        src[-2:] = [52, 52]; mask[-2:] = [0, 0]
    lab = [r.randrange(0, 52) for _ in range(m)]
    if i % 3 == 0: lab[r.randrange(m)] = -100
    e = {"input_ids": src, "labels": lab}
    if i % 2 or True: e["attention_mask"] = mask
    print(json.dumps(e))
PY
for v in a b; do
    if "$G" eval --task translate --model "$T/m$v" --data "$T/ids.jsonl" --batch-size 5 --json >"$T/eval.json" 2>"$T/err"; then
        $PY "$REF/translate_ref.py" eval "$T/m$v" "$T/ids.jsonl" "$T/eval.json" "translate_eval_loss_$v"
    else fail "translate_eval_loss_$v" "$(head -c 300 "$T/err")"; fi
done
printf '{"input_ids": [1, 2], "labels": [3, 99]}\n' >"$T/bad.jsonl"
expect_error translate_eval_range 'bad.jsonl:1: labels\[1\] = 99 is out of range' "$G" eval --task translate --model "$T/ma" --data "$T/bad.jsonl"
# broken inputs of translate
printf '1 2 99\n' >"$T/bad.txt"
expect_error translate_src_range 'bad.txt:1: id 99 is out of range' "$G" translate --model "$T/ma" --src-tokens "$T/bad.txt"
printf '1 x 0\n' >"$T/bad.txt"
expect_error translate_src_parse "bad.txt:1: 'x" "$G" translate --model "$T/ma" --src-tokens "$T/bad.txt"
expect_error translate_batch_size_zero 'option .-batch-size: 0 is out of range' "$G" translate --model "$T/ma" --src-tokens "$T/src.txt" --batch-size 0
expect_error translate_batch_size_word "option .-batch-size: 'x' is not an integer" "$G" translate --model "$T/ma" --src-tokens "$T/src.txt" --batch-size x
expect_error translate_no_tokenizer 'a translation tokenizer is needed' "$G" translate --model "$T/ma" 'Hello'
"$GPTC" init --out "$T/gpt" --preset tiny >/dev/null 2>&1
expect_error translate_not_marian 'is not a translation model' "$G" translate --model "$T/gpt" 'x'
rm -rf "$T"
