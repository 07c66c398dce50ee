#!/usr/bin/env bash
# t_bench_marian.sh: the translation bench's two sides decode the same thing, and its
# options are checked. bench/bench_marian.c (built here as bench/run.sh builds it, against
# build/libgptc.a) --task translate (9 sentences of 5-13 ids in batches of 4, 11 new
# tokens, 1 timed run): on marian-tiny with vocab 300 it saves its random model, which
# bench/torch_marian.py --task translate --model loads; both print a RESULT with positive
# sentences/s and tokens/s for greedy and beam 4. Then both translate with one model
# made by tests/ref/marian_torch.py (logits far from uniform): sentence 0's greedy and
# beam-4 tokens (PyTorch's batched KV-cache loops against gptc_translate_batch) must be
# the same. Bad options of either side: a clear error, non-zero exit.
source "$(dirname "$0")/lib.sh"
B=$T/bench_marian
if ! ${CC:-cc} -std=c11 -O2 -fopenmp -I"$ROOT/include" -I"$ROOT/src" -o "$B" "$ROOT/bench/bench_marian.c" \
    "$ROOT/build/libgptc.a" -lpcre2-8 -ljansson -ldl -lm -lpthread 2>"$T/err"; then
    fail bench_marian_build "$(head -c 300 "$T/err")"; rm -rf "$T"; exit 0
fi
opts=(--task translate --sentences 9 --min-src 5 --max-src 13 --batch 4 --max-new 11 --steps 1)
# the bench's own random model (init std 0.02), saved: both sides run and report
if ! "$B" "${opts[@]}" --preset marian-tiny --vocab 300 --save "$T/m" >"$T/g.txt" 2>"$T/err"; then
    fail bench_marian_translate "$(head -c 300 "$T/err")"
elif ! OMP_WAIT_POLICY=PASSIVE $PY "$ROOT/bench/torch_marian.py" "${opts[@]}" --model "$T/m" --threads 2 >"$T/t.txt" 2>"$T/err"; then
    fail bench_marian_translate "torch_marian.py: $(tail -c 300 "$T/err")"
else
    ok=1
    for f in "$T/g.txt" "$T/t.txt"; do
        r=$(grep '^RESULT' "$f")
        for k in greedy_sent_s beam4_sent_s greedy_tok_s beam4_tok_s; do
            v=$(echo "$r" | grep -o -E "(^| )$k=[^ ]+" | cut -d= -f2)
            awk -v v="$v" 'BEGIN { exit !(v > 0) }' || { ok=0; fail bench_marian_translate_result "$k='$v' in $r"; }
        done
    done
    [ $ok = 1 ] && pass bench_marian_translate_result
fi
# a model whose logits are far from uniform (marian_torch.py make-model: d_model 21, 2 + 1
# layers, 3 heads, vocab 53, 40 positions, gelu, weights of std 0.05 to 1): sentence 0's
# greedy and beam-4 tokens of both sides' loops are the same
$PY "$ROOT/tests/ref/marian_torch.py" make-model --out "$T/r" --seed 5 --positions 40 --pad 52
if ! "$B" "${opts[@]}" --model "$T/r" >"$T/g.txt" 2>"$T/err"; then
    fail bench_marian_translate_model "$(head -c 300 "$T/err")"
elif ! OMP_WAIT_POLICY=PASSIVE $PY "$ROOT/bench/torch_marian.py" "${opts[@]}" --model "$T/r" --threads 2 >"$T/t.txt" 2>"$T/err"; then
    fail bench_marian_translate_model "torch_marian.py: $(tail -c 300 "$T/err")"
else
    for w in greedy beam4; do
        g=$(grep "^${w}_first" "$T/g.txt") t=$(grep "^${w}_first" "$T/t.txt")
        if [ -n "$g" ] && [ "$g" = "$t" ] && [ "$(echo "$g" | wc -w)" = 12 ]; then
            pass "bench_marian_translate_same_${w} (sentence 0: ${g#${w}_first })"
        else fail "bench_marian_translate_same_$w" "gptc '$g' vs torch '$t'"; fi
    done
fi
expect_error bench_marian_bad_model 'bench_marian: --model' "$B" --task translate --model "$T/none"
expect_error bench_marian_bad_task 'bench_marian: --task must be train or translate' "$B" --task x
expect_error bench_marian_bad_range 'bench_marian: --min-src must be at least 1 and at most --max-src' "$B" --task translate --min-src 9 --max-src 5
expect_error bench_marian_bad_positions "bench_marian: --max-src 999 and --max-new 32 \+ 1 must fit the preset's 256 positions" "$B" --task translate --max-src 999
expect_error bench_marian_bad_number "bench_marian: --sentences wants a whole number, not 'many'" "$B" --sentences many
expect_error bench_marian_zero_steps 'bench_marian: --steps must be at least 1' "$B" --steps 0
expect_error torch_marian_bad_range 'error: --max-src must be at least --min-src' $PY "$ROOT/bench/torch_marian.py" --task translate --min-src 9 --max-src 5
expect_error torch_marian_bad_positions "error: --max-src and --max-new \+ 1 must fit the preset's 256 positions" $PY "$ROOT/bench/torch_marian.py" --task translate --max-new 400
rm -rf "$T"
