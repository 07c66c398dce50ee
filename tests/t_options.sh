#!/usr/bin/env bash
# t_options.sh: numeric options are range-checked when parsed (issue 10): NaN, Inf and
# out-of-range values stop with exit status 2 and a message naming the option and the
# allowed range, before anything is loaded or written.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC; [ -x "$GPTC_ASAN" ] && G=$GPTC_ASAN

# usage_error NAME OPTION CMD...: exit 2, the option named on stderr, no output directory
usage_error() {
    local name=$1 opt=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc != 2 ]; then fail "$name" "exit $rc (expected 2): $(head -c 300 "$T/err")"; return; fi
    if ! grep -q -- "$opt" "$T/err"; then fail "$name" "stderr does not name $opt: $(head -c 300 "$T/err")"; return; fi
    if [ -e "$T/out_dir" ]; then fail "$name" "wrote $T/out_dir"; rm -rf "$T/out_dir"; return; fi
    pass "$name"
}
"$GPTC" init --out "$T/m" --preset tiny --vocab-size 300 --seed 1 >/dev/null
$PY -c "import random; r=random.Random(1); print(' '.join(str(r.randrange(300)) for _ in range(2000)))" >"$T/ids.txt"
"$GPTC" prepare --tokens "$T/ids.txt" --vocab-size 300 --out "$T/data" >/dev/null 2>&1
TR=(train --data "$T/data" --init "$T/m" --out "$T/out_dir" --max-steps 2 --batch-size 2 --seq-len 8)
for bad in "--lr nan" "--lr inf" "--lr -1" "--lr=nan" "--beta1 1" "--beta2 2" "--eps 0" "--grad-clip -1" \
           "--weight-decay nan" "--epochs nan" "--epochs 0" "--warmup-steps -1" "--max-steps -1" "--dropout 1.5" \
           "--threads -1" "--batch-size 0" "--grad-accum 0" "--eval-batches 0" "--seq-len 0" "--zero 2" \
           "--mpi-overlap -1" "--mpi-timeout 0"; do
    opt=${bad%% *}; opt=${opt%%=*}
    # shellcheck disable=SC2086
    usage_error "train $bad" "$opt" "$G" "${TR[@]}" $bad
done
usage_error "train --min-lr above --lr" "--min-lr" "$G" "${TR[@]}" --lr 1e-4 --min-lr 1e-3
"$G" "${TR[@]}" --beta1 1 2>"$T/err"; grep -q -- "--beta1: 1 is out of range \[0, 1)" "$T/err" &&
    pass "the message gives the allowed range" || fail "the message gives the allowed range" "$(cat "$T/err")"

printf 'good\t1\nbad\t0\n' >"$T/cls.tsv"
FT=(finetune --task classify --model "$T/m" --train "$T/cls.tsv" --no-header --out "$T/out_dir")
for bad in "--epochs -1" "--max-length 0" "--lr nan" "--lora-r 0" "--lora-dropout 1" "--threads -1"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "finetune $bad" "$opt" "$G" "${FT[@]}" $bad
done
for bad in "--vocab-size 99999999999" "--vocab-size 0" "--val-fraction 1" "--val-fraction nan" "--threads -1"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "prepare $bad" "$opt" "$G" prepare --tokens "$T/ids.txt" --out "$T/out_dir" $bad
done
usage_error "generate --threads -1" "--threads" "$G" generate --model "$T/m" --prompt-tokens "$T/ids.txt" --threads -1
usage_error "generate --temperature nan" "--temperature" "$G" generate --model "$T/m" --prompt-tokens "$T/ids.txt" --temperature nan

# valid values still run
"$G" "${TR[@]}" --lr 1e-3 --min-lr 1e-4 --beta1 0 --dropout 0 --grad-clip 0 --sample-tokens 0 --eval-every 0 \
    >/dev/null 2>"$T/err" && [ -f "$T/out_dir/model/model.safetensors" ] && pass "train with edge values in range runs" ||
    fail "train with edge values in range runs" "$(tail -c 300 "$T/err")"

# Hugging Face's underscore spellings are aliases; a misspelling gets the nearest option
"$G" generate --model "$T/m" --prompt-tokens "$T/ids.txt" --truncate --max_new_tokens 2 --eos_token_id -1 >/dev/null 2>"$T/err" &&
    pass "--max_new_tokens (underscores) accepted" || fail "--max_new_tokens (underscores) accepted" "$(head -c 300 "$T/err")"
"$G" generate --model "$T/m" --prompt-tokens "$T/ids.txt" --temprature 1 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "did you mean --temperature?" "$T/err" && pass "misspelt option: did you mean" ||
    fail "misspelt option: did you mean" "rc $rc: $(head -c 300 "$T/err")"
"$G" train --max_step 3 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "did you mean --max-steps?" "$T/err" && pass "misspelt underscore option: did you mean" ||
    fail "misspelt underscore option: did you mean" "rc $rc: $(head -c 300 "$T/err")"

# a data directory without train.bin says what to run
mkdir -p "$T/nodata"
expect_error "train --data without train.bin suggests gptc prepare" "gptc prepare" "$G" train --data "$T/nodata" --out "$T/out_nodata"
[ ! -e "$T/out_nodata" ] && pass "nothing written for it" || fail "nothing written for it" "$(ls "$T/out_nodata")"

# generate / chat: every generation option is range-checked when parsed
rm -rf "$T/out_dir"
GEN=(generate --model "$T/m" --prompt-tokens "$T/ids.txt" --truncate)
for bad in "--max-new-tokens -1" "--max-length 0" "--temperature -1" "--temperature inf" "--top-k -1" "--top-p 0" \
           "--top-p 1.5" "--min-p nan" "--typical-p 0" "--repetition-penalty 0" "--no-repeat-ngram-size -1" \
           "--num-return-sequences 0" "--num-beams 1000" "--length-penalty nan" "--presence-penalty inf" \
           "--frequency-penalty nan" "--seed -1" "--eos-token-id -2" "--eos-token-id abc" "--eos-token-id 99999999999" \
           "--temperature 1e300" "--threads 4294967297"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "generate $bad" "$opt" "$G" "${GEN[@]}" $bad
done
"$G" "${GEN[@]}" --eos-token-id 99999999 >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q -- "--eos-token-id: 99999999 is out of range \[0, 300)" "$T/err" &&
    pass "generate --eos-token-id outside the vocabulary: the option and the range" ||
    fail "generate --eos-token-id outside the vocabulary: the option and the range" "rc $rc: $(head -c 300 "$T/err")"
cp -r "$T/m" "$T/m_gc"; echo '{"eos_token_id": 400}' >"$T/m_gc/generation_config.json"
expect_error "generation_config.json eos_token_id outside the vocabulary names the file" \
    "generation_config.json: eos_token_id 400 is out of range" "$G" generate --model "$T/m_gc" --prompt-tokens "$T/ids.txt" --truncate
"$G" generate --model "$T/m_gc" --prompt-tokens "$T/ids.txt" --truncate --max-new-tokens 2 --eos-token-id 5 >/dev/null 2>"$T/err" &&
    pass "--eos-token-id replaces generation_config.json's ids" || fail "--eos-token-id replaces generation_config.json's ids" "$(head -c 300 "$T/err")"
"$G" "${GEN[@]}" --max-new-tokens 0 --top-p 1 --min-p 0 --length-penalty -2 --seed 0 >/dev/null 2>"$T/err" &&
    pass "generate with edge values in range runs" || fail "generate with edge values in range runs" "$(head -c 300 "$T/err")"
for bad in "--max-new-tokens -1" "--top-k -5" "--threads -1" "--eos-token-id 300"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "chat $bad" "$opt" "$G" chat --model "$T/m" $bad </dev/null
done

# eval, classify, answer, attention, tokenize, info, tokenizer-train
for bad in "--batch-size 0" "--batch-size -3" "--threads -1"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "eval $bad" "$opt" "$G" eval --model "$T/m" --tokens "$T/ids.txt" $bad
done
printf '{"context": "a b c", "question": "b?", "answers": {"text": ["b"], "answer_start": [2]}}\n' >"$T/qa.jsonl"
for bad in "--max-answer-length 0" "--max-length 3" "--stride -1"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "eval --task qa $bad" "$opt" "$G" eval --task qa --model "$T/m" --data "$T/qa.jsonl" $bad
    # shellcheck disable=SC2086
    usage_error "answer $bad" "$opt" "$G" answer --model "$T/m" --context "$T/qa.jsonl" --question q $bad
done
usage_error "classify --threads -1" "--threads" "$G" classify --model "$T/m" --threads -1 </dev/null
echo "1 2 3 4" >"$T/ids4.txt"
for bad in "--layer 2" "--layer -3" "--head 99" "--head -1" "--threads -1"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "attention $bad" "$opt" "$G" attention --model "$T/m" --tokens "$T/ids4.txt" --json $bad
done
"$G" attention --model "$T/m" --tokens "$T/ids4.txt" --json --layer 2 2>"$T/err" >/dev/null
grep -q -- "--layer: 2 is out of range \[-2, 1\]" "$T/err" && pass "attention --layer: the model's range" ||
    fail "attention --layer: the model's range" "$(head -c 300 "$T/err")"
usage_error "tokenize --threads -1" "--threads" "$G" tokenize --model "$T/m" --threads -1 </dev/null
for bad in "--batch-size 0" "--seq-len 0" "--seq-len 100000"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "info $bad" "$opt" "$G" info --model "$T/m" $bad
done
echo "some text" >"$T/corpus.txt"
for bad in "--vocab-size 100" "--min-frequency 0" "--chunk-size 0"; do
    opt=${bad%% *}
    # shellcheck disable=SC2086
    usage_error "tokenizer-train $bad" "$opt" "$G" tokenizer-train --input "$T/corpus.txt" --vocab-size 300 --out "$T/out_dir" $bad
done

# gptc help CMD = gptc CMD --help; unknown commands suggest the nearest one
for c in train generate tokenizer-train; do
    "$G" help $c >"$T/h1" 2>&1; rc=$?; "$G" $c --help >"$T/h2" 2>&1
    [ $rc = 0 ] && cmp -s "$T/h1" "$T/h2" && pass "gptc help $c = gptc $c --help" || fail "gptc help $c = gptc $c --help" "rc $rc"
done
for pair in "gen:generate" "trian:train" "tokenize-train:tokenizer-train" "evl:eval"; do
    bad=${pair%%:*} want=${pair#*:}
    "$G" $bad >/dev/null 2>"$T/err"; rc=$?
    [ $rc = 2 ] && grep -q "did you mean \`gptc $want\`?" "$T/err" && pass "unknown command $bad suggests $want" ||
        fail "unknown command $bad suggests $want" "rc $rc: $(head -c 300 "$T/err")"
done
"$G" help nosuchthing >/dev/null 2>"$T/err"; rc=$?
[ $rc = 2 ] && grep -q "unknown command 'nosuchthing'" "$T/err" && ! grep -q "did you mean" "$T/err" &&
    pass "gptc help UNKNOWN: exit 2, no far-fetched suggestion" || fail "gptc help UNKNOWN: exit 2, no far-fetched suggestion" "rc $rc: $(cat "$T/err")"
"$G" >/dev/null 2>&1; [ $? = 2 ] && pass "gptc without arguments exits 2" || fail "gptc without arguments exits 2" "rc $?"

# --model RUN where RUN/model holds the model: the error suggests --model RUN/model
mkdir -p "$T/run1"; cp -r "$T/m" "$T/run1/model"
for c in generate eval info; do
    case $c in generate) extra=(--prompt-tokens "$T/ids4.txt") ;; eval) extra=(--tokens "$T/ids.txt") ;; *) extra=() ;; esac
    expect_error "$c --model RUN suggests --model RUN/model" "did you mean --model $T/run1/model\?" \
        "$G" $c --model "$T/run1" "${extra[@]}"
done
expect_error "chat --model RUN suggests --model RUN/model" "did you mean --model $T/run1/model\?" "$G" chat --model "$T/run1/" </dev/null
