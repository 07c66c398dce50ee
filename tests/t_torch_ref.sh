#!/usr/bin/env bash
# t_torch_ref.sh: gptc's GPT-2 against a PyTorch GPT-2 built from the same files
# (tests/ref/gpt2_torch.py): logits, loss, every gradient, the weights after 10 AdamW
# steps with weight decay (0.5: a 5% error in it shows), gradient accumulation, clipping
# and a changing lr. Fresh tokens each run (GPTC_TEST_SEED repeats one).
source "$(dirname "$0")/lib.sh"
ref_setup torch-ref gpt2_torch.py
STEPS=10
HP=(--steps $STEPS --lr 3e-3 --wd 0.5 --beta1 0.9 --beta2 0.95 --eps 1e-4)
rc=0

# run_cfg TAG B T [DRIVER]: the model dir is $T/TAG, already created.
run_cfg() {
    local tag=$1 B=$2 TT=$3 dir=$T/$1 out=$T/$1.out driver=${4:-$DRIVER}
    mkdir -p "$out"
    local clip # tokens, and a max_norm that about half of the steps exceed
    clip=$($PY "$REF" prepare --model "$dir" --tokens "$T/$tag.tok" --B "$B" --T "$TT" \
        --n-batches $((1 + 2 * STEPS)) --seed $((SEED + ${#tag} * 7919 + B)) "${HP[@]}") ||
        { fail "$tag prepare" "gpt2_torch.py prepare failed"; rc=1; return; }
    if ! "$driver" "$dir" "$T/$tag.tok" "$out" "${HP[@]}" --clip "$clip" 2>"$T/$tag.err"; then
        fail "$tag driver" "$(head -c 600 "$T/$tag.err")"; rc=1; return
    fi
    $PY "$REF" check --tag "$tag" --model "$dir" --tokens "$T/$tag.tok" --driver-out "$out" "${HP[@]}" --clip "$clip" || rc=1
}

# cfg1: made by `gptc init` (GPT-2 initialization: zero biases, unit norms).
if "$GPTC" init --out "$T/cfg1" --n-layer 3 --n-head 3 --n-embd 36 --n-positions 29 --vocab-size 101 \
        --dropout 0 --seed $((SEED % 100000)) --no-tokenizer >"$T/init.out" 2>&1; then
    pass "cfg1 init"
else
    fail "cfg1 init" "gptc init failed: $(head -c 400 "$T/init.out"); using a model written by gpt2_torch.py"
    rc=1
    $PY "$REF" make-model --out "$T/cfg1" --n-layer 3 --n-head 3 --n-embd 36 --n-positions 29 --vocab 101 --seed "$SEED"
fi
run_cfg cfg1 3 23

# cfg2: written by PyTorch side ("transformer." names, random biases and norms).
$PY "$REF" make-model --out "$T/cfg2" --n-layer 2 --n-head 5 --n-embd 70 --n-positions 37 --vocab 317 --seed $((SEED + 1))
run_cfg cfg2 3 23

# cfg3: erf GELU, T equal to n_positions, one layer.
$PY "$REF" make-model --out "$T/cfg3" --n-layer 1 --n-head 2 --n-embd 22 --n-positions 19 --vocab 67 \
    --activation gelu --seed $((SEED + 2))
run_cfg cfg3 2 19

# cfg4: `gptc init` with a separate lm_head, one head per layer; under ASan + UBSan
# when build/asan/tests/tool_ref_driver is built (make test builds it).
if "$GPTC" init --out "$T/cfg4" --n-layer 2 --n-head 1 --n-embd 13 --n-positions 11 --vocab-size 45 \
        --no-tie-word-embeddings --dropout 0 --seed $((SEED % 100000 + 3)) --no-tokenizer >"$T/init.out" 2>&1; then
    pass "cfg4 init"
    ASAN_DRIVER=$ROOT/build/asan/tests/tool_ref_driver
    [ -x "$ASAN_DRIVER" ] && echo "cfg4 runs build/asan/tests/tool_ref_driver" || ASAN_DRIVER=$DRIVER
    run_cfg cfg4 5 11 "$ASAN_DRIVER"
else
    fail "cfg4 init" "gptc init --no-tie-word-embeddings failed: $(head -c 400 "$T/init.out")"
    rc=1
fi

rm -rf "$T"
exit $rc
