#!/usr/bin/env bash
# t_bert_ref.sh: gptc's BERT against a PyTorch BERT built from the same files
# (tests/ref/bert_torch.py, float64): logits, losses (MLM and NSP parts), every gradient,
# the weights after 10 AdamW steps (lr 3e-3 decaying linearly, weight decay 0.1 on 2-D
# tensors, betas 0.9/0.95, eps 1e-4, clipping at the median gradient norm, 2
# micro-batches per step), with padding (attention masks), token types, sizes that are
# not multiples of 8, F32/F16/BF16 files, old gamma/beta names, tied decoders saved or
# not, untied decoders, the classification and QA heads, and PEFT LoRA adapters on them. Fresh inputs each run
# (GPTC_TEST_SEED repeats one).
source "$(dirname "$0")/lib.sh"
ref_setup bert-ref bert_torch.py
HP=(--steps 10 --lr 3e-3 --wd 0.1 --beta1 0.9 --beta2 0.95 --eps 1e-4)
rc=0

# run_cfg TAG B T [DRIVER]: the model dir is $T/TAG, already made.
run_cfg() {
    local tag=$1 B=$2 TT=$3 dir=$T/$1 out=$T/$1.out driver=${4:-$DRIVER} s=$((SEED + ${#1} * 7919 + $2))
    mkdir -p "$out"
    local clip
    clip=$($PY "$REF" prepare --model "$dir" --inputs "$T/$tag.in" --B "$B" --T "$TT" --seed $s "${HP[@]}") ||
        { fail "$tag prepare" "bert_torch.py prepare failed"; rc=1; return; }
    if ! "$driver" "$dir" "$T/$tag.in" "$out" --bert 1 "${HP[@]}" --clip "$clip" 2>"$T/$tag.err"; then
        fail "$tag driver" "$(head -c 600 "$T/$tag.err")"; rc=1; return
    fi
    $PY "$REF" check --tag "$tag" --model "$dir" --inputs "$T/$tag.in" --B "$B" --T "$TT" --seed $s \
        --driver-out "$out" "${HP[@]}" --clip "$clip" || rc=1
}
mk() { $PY "$REF" make-model --out "$T/$1" --seed $((SEED % 100000 + ${#1})) "${@:2}"; }

# pre-training (MLM + NSP), F32, "bert." names, tied decoder left out, 2 layers x 3 heads of 7
mk pre_f32 --layers 2 --heads 3 --hidden 21 --intermediate 37 --positions 19 --vocab 53
run_cfg pre_f32 3 11
# BF16 file, TF-era LayerNorm.gamma/.beta, the tied decoder (and its bias) stored too
mk pre_bf16 --layers 1 --heads 2 --hidden 18 --intermediate 29 --positions 13 --vocab 41 --dtype BF16 \
    --old-names --tied-decoder-saved
run_cfg pre_bf16 2 13
# F16 file, BertModel names (no "bert."), an untied decoder, 3 token types, T = positions
mk pre_f16 --layers 2 --heads 1 --hidden 13 --intermediate 22 --positions 9 --vocab 37 --dtype F16 \
    --untied --no-prefix --type-vocab 3
run_cfg pre_f16 4 9
# BertForMaskedLM (no pooler, no NSP)
mk mlm --layers 1 --heads 5 --hidden 15 --intermediate 31 --positions 12 --vocab 45 --head mlm
run_cfg mlm 2 10
# a pre-training file under a BertForMaskedLM config (as bert-base-uncased on the Hub:
# its pooler and cls.seq_relationship are there but unused)
mk hub_mlm --layers 1 --heads 2 --hidden 10 --intermediate 17 --positions 11 --vocab 29 --old-names --tied-decoder-saved
$PY -c 'import json,sys; p=sys.argv[1]+"/config.json"; c=json.load(open(p)); c["architectures"]=["BertForMaskedLM"]; json.dump(c,open(p,"w"))' "$T/hub_mlm"
run_cfg hub_mlm 2 11
# BertForSequenceClassification (pooled [CLS] -> classifier), 3 labels; under ASan + UBSan
# when build/asan/tests/tool_ref_driver is built (make test builds it)
mk cls --layers 2 --heads 2 --hidden 14 --intermediate 19 --positions 15 --vocab 39 --head classify --num-labels 3
ASAN_DRIVER=$ROOT/build/asan/tests/tool_ref_driver
[ -x "$ASAN_DRIVER" ] && fresh build/asan/tests/tool_ref_driver
[ -x "$ASAN_DRIVER" ] && echo "cls and lora_cls run build/asan/tests/tool_ref_driver" || ASAN_DRIVER=$DRIVER
run_cfg cls 5 12 "$ASAN_DRIVER"
# BertForSequenceClassification as a regression (num_labels 1, problem_type "regression":
# MSE of the one output against float labels)
mk reg --layers 2 --heads 3 --hidden 15 --intermediate 23 --positions 13 --vocab 37 --head classify --num-labels 1
run_cfg reg 5 13
# BertForQuestionAnswering (qa_outputs per token, spans clamped, one ignored)
mk qa --layers 2 --heads 3 --hidden 12 --intermediate 25 --positions 17 --vocab 31 --head qa
run_cfg qa 3 17
# PEFT LoRA adapters (nn.Linear: A [r, in], B [out, r], scale alpha / r, lora_dropout 0;
# A and B random, the head in the adapter as modules_to_save): only they get gradients and
# move, the base stays as loaded. "output.dense" adapts both attention.output.dense and
# the layer's output.dense (PEFT's suffix match). lora_cls runs under ASan + UBSan as cls does.
mk lora_cls --layers 2 --heads 3 --hidden 15 --intermediate 23 --positions 13 --vocab 37 --head classify --num-labels 3 \
    --lora-targets query,value,output.dense --lora-r 3 --lora-alpha 7
run_cfg lora_cls 4 11 "$ASAN_DRIVER"
mk lora_qa --layers 2 --heads 2 --hidden 14 --intermediate 19 --positions 15 --vocab 31 --head qa \
    --lora-targets key,intermediate.dense,attention.output.dense --lora-r 2 --lora-alpha 5
run_cfg lora_qa 3 13

# made by `gptc init --arch bert` (BERT's initialization: zero biases, unit norms, the
# [PAD] row zero), its file named as BertForPreTraining.save_pretrained names it
if "$GPTC" init --out "$T/init" --arch bert --preset bert-tiny --num-hidden-layers 2 --num-attention-heads 3 \
        --hidden-size 27 --intermediate-size 35 --max-position-embeddings 15 --vocab-size 47 \
        --hidden-dropout-prob 0 --attention-probs-dropout-prob 0 --seed $((SEED % 100000)) >"$T/init.log" 2>&1; then
    pass "init --arch bert"
    $PY "$REF" names --model "$T/init" --tag init || rc=1
    run_cfg init 3 14
else
    fail "init --arch bert" "$(head -c 400 "$T/init.log")"; rc=1
fi

rm -rf "$T"
exit $rc
