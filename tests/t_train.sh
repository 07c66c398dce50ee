#!/usr/bin/env bash
# t_train.sh: pre-training. (1) gptc train --loader sequential follows PyTorch's loss
# curve step for step (HF cosine schedule with warmup and min lr, AdamW, clipping,
# accumulation) and ends at the same weights; (2) a run killed with SIGKILL and
# resumed ends bit-identical to an uninterrupted one, and so does one stopped by
# SIGINT; (3) early stopping; (4) broken inputs.
source "$(dirname "$0")/lib.sh"
SEED=${SEED:-$(date +%s)}
echo "seed $SEED"
rand_tokens() { # N VOCAB SEED -> whitespace-separated ids
    $PY -c "import random,sys; r=random.Random($3); print(' '.join(str(r.randrange($2)) for _ in range($1)))"
}

# ---- (1) loss curve and weights against PyTorch
rand_tokens 3000 97 $SEED > $T/ids.txt
$GPTC init --out $T/init --n-layer 2 --n-head 3 --n-embd 30 --n-positions 32 --vocab-size 97 --dropout 0 \
    --seed $SEED --no-tokenizer >/dev/null 2>$T/err || { fail init "$(cat $T/err)"; }
$GPTC prepare --tokens $T/ids.txt --vocab-size 97 --val-fraction 0 --out $T/data >/dev/null 2>$T/err || fail prepare "$(cat $T/err)"
$GPTC train --data $T/data --out $T/run --init $T/init --loader sequential --batch-size 3 --seq-len 17 \
    --grad-accum 2 --max-steps 50 --warmup-steps 5 --lr 3e-3 --min-lr 3e-4 --lr-schedule cosine \
    --weight-decay 0.1 --grad-clip 0.5 --eval-every 0 --dropout 0 >/dev/null 2>$T/err || fail train "$(tail -3 $T/err)"
$PY "$ROOT/tests/ref/train_torch.py" $T/init $T/data $T/run 3 17 2 50 3e-3 3e-4 5 cosine 0.1 0.5
for sched in linear constant; do
    $GPTC train --data $T/data --out $T/run-$sched --init $T/init --loader sequential --batch-size 2 --seq-len 11 \
        --max-steps 20 --warmup-steps 4 --lr 1e-3 --lr-schedule $sched --weight-decay 0.05 --grad-clip 0 \
        --eval-every 0 --dropout 0 >/dev/null 2>$T/err || fail "train $sched" "$(tail -3 $T/err)"
    $PY "$ROOT/tests/ref/train_torch.py" $T/init $T/data $T/run-$sched 2 11 1 20 1e-3 0 4 $sched 0.05 0 | sed "s/^\(PASS\|FAIL\) /\1 [$sched] /"
done
# the schedule's first warmup step has lr 0
first_lr=$(head -1 $T/run/metrics.jsonl | sed 's/.*"lr": \([^,]*\),.*/\1/')
[ "$first_lr" = 0 ] && pass "first warmup step has lr 0" || fail "first warmup step has lr 0" "got $first_lr"
[ -f $T/run/loss.svg ] && grep -q '<svg' $T/run/loss.svg && grep -q 'train loss' $T/run/loss.svg \
    && pass "loss plot written" || fail "loss plot written" "no $T/run/loss.svg"

# ---- (2) exact resume after SIGKILL and after SIGINT
rand_tokens 40000 211 $((SEED + 1)) > $T/ids2.txt
$GPTC prepare --tokens $T/ids2.txt --vocab-size 211 --val-fraction 0.1 --out $T/data2 >/dev/null 2>&1
ARGS="--data $T/data2 --n-layer 2 --n-head 2 --n-embd 48 --n-positions 64 --vocab-size 211 --batch-size 4 --seq-len 64
      --max-steps 120 --warmup-steps 10 --lr 1e-3 --dropout 0.1 --eval-every 20 --eval-batches 2 --save-every 7
      --sample-tokens 0 --seed $SEED --threads 2"
$GPTC train $ARGS --out $T/full >/dev/null 2>$T/err || fail "uninterrupted run" "$(tail -3 $T/err)"
$GPTC train $ARGS --out $T/killed >/dev/null 2>&1 &
pid=$!
for i in $(seq 1 400); do
    [ -d $T/killed/checkpoints/step-21 ] && break
    sleep 0.02
done
kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
if [ -d $T/killed/model ]; then
    fail "SIGKILL resume" "the run finished before it could be killed"
else
    $GPTC train --resume $T/killed --threads 2 >/dev/null 2>$T/err || fail "resume after SIGKILL" "$(tail -3 $T/err)"
    cmp -s $T/full/model/model.safetensors $T/killed/model/model.safetensors \
        && pass "resume after SIGKILL: final weights bit-identical" \
        || fail "resume after SIGKILL: final weights bit-identical" "model.safetensors differ"
    cmp -s <(grep train_loss $T/full/metrics.jsonl | sed 's/"tokens_per_s.*//') \
           <(grep train_loss $T/killed/metrics.jsonl | sed 's/"tokens_per_s.*//') \
        && pass "resume after SIGKILL: same loss at every step" || fail "resume after SIGKILL: same loss at every step" "metrics differ"
fi
$GPTC train $ARGS --out $T/intr >$T/intr.out 2>$T/err_intr &
pid=$!
for i in $(seq 1 400); do
    [ -d $T/intr/checkpoints/step-14 ] && break
    sleep 0.02
done
kill -INT $pid; wait $pid; rc=$?
if [ -d $T/intr/model ]; then
    fail "SIGINT" "the run finished before the signal"
else
    [ $rc = 130 ] && grep -q "interrupted at step" $T/err_intr && grep -q "gptc train --resume $T/intr" $T/err_intr &&
        ! grep -q "^model:" $T/intr.out 2>/dev/null && pass "SIGINT writes a checkpoint, prints the resume command, exits 130" \
        || fail "SIGINT writes a checkpoint, prints the resume command, exits 130" "rc $rc: $(tail -2 $T/err_intr)"
    $GPTC train --resume $T/intr --threads 2 >/dev/null 2>$T/err || fail "resume after SIGINT" "$(tail -3 $T/err)"
    cmp -s $T/full/model/model.safetensors $T/intr/model/model.safetensors \
        && pass "resume after SIGINT: final weights bit-identical" || fail "resume after SIGINT: final weights bit-identical" "differ"
fi
ls $T/full/checkpoints | grep -q '^step-120$' && [ -f $T/full/checkpoints/step-120/optimizer.safetensors ] \
    && [ -f $T/full/checkpoints/step-120/trainer_state.json ] && pass "checkpoint holds model, optimizer and state" \
    || fail "checkpoint holds model, optimizer and state" "$(ls -R $T/full/checkpoints | head)"
n_ck=$(ls $T/full/checkpoints | grep -c '^step-')
[ "$n_ck" -le 3 ] && pass "keep-last prunes old checkpoints" || fail "keep-last prunes old checkpoints" "$n_ck checkpoints"

# ---- (3) early stopping: lr 0 never improves val loss
$GPTC train --data $T/data2 --out $T/es --n-layer 1 --n-head 2 --n-embd 16 --n-positions 32 --batch-size 2 \
    --seq-len 16 --max-steps 100 --lr 0 --eval-every 5 --eval-batches 1 --patience 2 --sample-tokens 0 \
    >/dev/null 2>$T/err || fail "early stop run" "$(tail -2 $T/err)"
n_val=$(grep -c val_loss $T/es/metrics.jsonl)
[ "$n_val" = 3 ] && grep -q "early stop" $T/err && [ -f $T/es/model/model.safetensors ] \
    && pass "early stopping after --patience evaluations" || fail "early stopping after --patience evaluations" "$n_val evals"

# ---- (4) broken input
: > $T/empty.txt
expect_error "prepare: empty input" "no text|no token" $GPTC prepare --input $T/empty.txt --out $T/d_empty
expect_error "prepare: missing input" "nope.txt" $GPTC prepare --input $T/nope.txt --out $T/d_missing
printf '{"text": "a"}\n{"txt": 1}\n' > $T/bad.jsonl
expect_error "prepare: bad JSONL line named" "bad.jsonl:2" $GPTC prepare --input $T/bad.jsonl --out $T/d_bad
rand_tokens 50 97 1 > $T/few.txt
$GPTC prepare --tokens $T/few.txt --vocab-size 97 --val-fraction 0 --out $T/d_few >/dev/null 2>&1
expect_error "train: corpus smaller than one batch" "smaller than one batch" \
    $GPTC train --data $T/d_few --out $T/r_few --n-layer 1 --n-head 1 --n-embd 8 --batch-size 4 --seq-len 32 --eval-every 0
expect_error "train: unwritable output" "cannot create|Not a directory|not a directory" \
    $GPTC train --data $T/data2 --out /proc/gptc-test/run --n-layer 1 --n-head 1 --n-embd 8 --seq-len 8 --eval-every 0
expect_error "train: resume with another architecture" "differs|architecture" \
    $GPTC train --resume $T/full --n-layer 3
expect_error "train: existing run without --resume" "already holds" $GPTC train $ARGS --out $T/full
printf 'GPTCTOKS\x01\x00\x00\x00\x02\x00\x00\x00\xff\xff\x00\x00\x00\x00\x00\x00' > $T/corrupt.bin
head -c 64 /dev/zero >> $T/corrupt.bin
mkdir -p $T/d_corrupt && cp $T/corrupt.bin $T/d_corrupt/train.bin
expect_error "train: corrupt shard" "train.bin.*tokens" $GPTC train --data $T/d_corrupt --out $T/r_corrupt --eval-every 0
ls $T/r_few/checkpoints/ 2>/dev/null | grep -q . && fail "no checkpoint after an error" "found one" || pass "no checkpoint after an error"
