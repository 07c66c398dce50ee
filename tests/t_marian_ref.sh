#!/usr/bin/env bash
# t_marian_ref.sh: gptc's MarianMTModel against a PyTorch Marian built from the same files
# (tests/ref/marian_torch.py, float64): logits, loss (with and without label smoothing),
# every gradient (the shared embedding used by the encoder, the decoder and the tied
# head; cross-attention; the pad row's nn.Embedding padding_idx), the weights after 10
# AdamW steps (lr 3e-3 decaying linearly, weight decay 0.1 on 2-D tensors, betas
# 0.9/0.95, eps 1e-4, clipping at the median gradient norm, 2 micro-batches per step;
# final_logits_bias a buffer, not trained), for sizes that are not multiples of 8 (odd
# d_model included), different encoder and decoder depths, heads and FFN widths, shared
# and unshared embeddings, tied and untied heads, relu / swish / gelu, scaled
# embeddings, padding in the encoder, F32/F16/BF16 files, files holding the stored
# sinusoidal tables and tied copies (as the Hub's), a shared table stored only under one of
# its tied names, and a model made by `gptc init --arch marian`. Fresh inputs each run (GPTC_TEST_SEED repeats one).
source "$(dirname "$0")/lib.sh"
ref_setup marian-ref marian_torch.py
HP=(--steps 10 --lr 3e-3 --wd 0.1 --beta1 0.9 --beta2 0.95 --eps 1e-4)
rc=0

# run_cfg TAG B Te T [extra hyperparameters...]: the model dir is $T/TAG, already made;
# $DRV (default the driver) runs it.
run_cfg() {
    local tag=$1 B=$2 TE=$3 TT=$4 dir=$T/$1 out=$T/$1.out s=$((SEED + ${#1} * 7919 + $2)) driver=${DRV:-$DRIVER}
    local extra=("${@:5}")
    mkdir -p "$out"
    local clip
    clip=$($PY "$REF" prepare --model "$dir" --inputs "$T/$tag.in" --B "$B" --Te "$TE" --T "$TT" --seed $s \
        "${HP[@]}" "${extra[@]}") || { fail "$tag prepare" "marian_torch.py prepare failed"; rc=1; return; }
    if ! "$driver" "$dir" "$T/$tag.in" "$out" --marian 1 "${HP[@]}" "${extra[@]}" --clip "$clip" 2>"$T/$tag.err"; then
        fail "$tag driver" "$(head -c 600 "$T/$tag.err")"; rc=1; return
    fi
    $PY "$REF" check --tag "$tag" --model "$dir" --inputs "$T/$tag.in" --B "$B" --Te "$TE" --T "$TT" --seed $s \
        --driver-out "$out" "${HP[@]}" "${extra[@]}" --clip "$clip" || rc=1
}
mk() { $PY "$REF" make-model --out "$T/$1" --seed $((SEED % 100000 + ${#1})) "${@:2}"; }

# shared + tied, gelu, F32, 2 encoder / 1 decoder layers of d 21, 3 heads
mk base --enc-layers 2 --dec-layers 1 --enc-heads 3 --dec-heads 3 --d-model 21 --enc-ffn 37 --dec-ffn 29 \
    --positions 19 --vocab 53
run_cfg base 3 11 9
# the same with label smoothing 0.1
cp -r "$T/base" "$T/base_ls"; run_cfg base_ls 3 11 9 --label-smoothing 0.1
# unshared embeddings, untied head, relu, scaled embeddings, odd d_model 15 (1 + 3 layers,
# encoder 5 heads, decoder 3), BF16 file
mk unshared --enc-layers 1 --dec-layers 3 --enc-heads 5 --dec-heads 3 --d-model 15 --enc-ffn 23 --dec-ffn 41 \
    --positions 17 --vocab 41 --unshared --untied --act relu --scale --dtype BF16
run_cfg unshared 2 13 7
# shared but untied, swish, F16 file holding the sinusoidal tables and the tied copies
mk hub --enc-layers 2 --dec-layers 2 --enc-heads 2 --dec-heads 1 --d-model 18 --enc-ffn 19 --dec-ffn 33 \
    --positions 23 --vocab 37 --untied --act swish --dtype F16 --hub-layout
run_cfg hub 4 9 12
# the shared table stored only as lm_head.weight (converters that keep the first of the
# tied names in sorted order write it so), 1 + 2 layers
mk lmhead --enc-layers 1 --dec-layers 2 --enc-heads 2 --dec-heads 2 --d-model 14 --enc-ffn 9 --dec-ffn 19 \
    --positions 13 --vocab 31 --store-as lm_head.weight
run_cfg lmhead 2 8 13
# unshared and tied (the head is the decoder's embedding), a pad id that is not the last
mk tied_dec --enc-layers 1 --dec-layers 1 --enc-heads 1 --dec-heads 1 --d-model 13 --enc-ffn 17 --dec-ffn 11 \
    --positions 15 --vocab 29 --unshared --pad 3 --hub-layout
# under ASan + UBSan when build/asan/tests/tool_ref_driver is built (make test builds it)
ASAN_DRIVER=$ROOT/build/asan/tests/tool_ref_driver
[ -x "$ASAN_DRIVER" ] && fresh build/asan/tests/tool_ref_driver
[ -x "$ASAN_DRIVER" ] && echo "tied_dec runs build/asan/tests/tool_ref_driver" || ASAN_DRIVER=$DRIVER
DRV=$ASAN_DRIVER run_cfg tied_dec 3 15 10 --label-smoothing 0.25

# made by `gptc init --arch marian` (MarianPreTrainedModel's initialization: zero biases,
# unit norms, the pad row zero), its file named as MarianMTModel.save_pretrained names it
if "$GPTC" init --out "$T/init" --arch marian --preset marian-tiny --encoder-layers 2 --decoder-layers 3 \
        --d-model 27 --n-head 3 --encoder-ffn-dim 35 --decoder-ffn-dim 22 --max-position-embeddings 21 \
        --vocab-size 47 --dropout 0 --seed $((SEED % 100000)) >"$T/init.log" 2>&1; then
    pass "init --arch marian"
    $PY "$REF" names --model "$T/init" --tag init || rc=1
    run_cfg init 3 14 11
else
    fail "init --arch marian" "$(head -c 400 "$T/init.log")"; rc=1
fi

rm -rf "$T"
exit $rc
