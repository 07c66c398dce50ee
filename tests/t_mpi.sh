#!/usr/bin/env bash
# t_mpi.sh: training on several MPI ranks (Open MPI's mpirun, 2 ranks on this machine)
# and run configuration files. (1) 2 ranks with --batch-size b give the per-step losses,
# gradient norms, validation values and final weights of one process with 2b (relative
# 1e-5 for the whole model in the 2-norm, each matrix within 1e-4, each 1-D tensor
# within 3e-4; tests/ref/run_compare.py), for pre-training (random
# and sequential loader, accumulation, clipping) and classification fine-tuning (full
# and LoRA; GPT-2 and BERT), translation fine-tuning of an encoder-decoder, with and
# without --zero 1;
# rank 0 alone writes; `mpirun -np 1` is bit-identical to a plain run. (2) Faults: kill
# -9 of a rank ends mpirun non-zero within 60 s and --resume then ends bit-identical to
# an uninterrupted 2-rank run (dropout on); SIGTERM to mpirun leaves a checkpoint that
# resumes bit-identically; a stopped rank makes the others fail after --mpi-timeout;
# ranks given different options refuse to start. (3) A 2-rank checkpoint resumes on 1
# process and a 1-process one on 2 ranks. (4) --config: run.json repeats a run
# (train, finetune); broken files fail naming file and field.
source "$(dirname "$0")/lib.sh"
G=$GPTC
SEED=${GPTC_TEST_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"
CMP="$PY $ROOT/tests/ref/run_compare.py"
if ! command -v mpirun >/dev/null 2>&1; then
    fail mpirun "mpirun is missing (scripts/deps.sh test installs openmpi-bin)"
    exit 1
fi
MPI="mpirun --oversubscribe -np 2"
[ "$(id -u)" = 0 ] && MPI="mpirun --allow-run-as-root --oversubscribe -np 2"
MPI1=${MPI/-np 2/-np 1}
export OMPI_MCA_btl_vader_single_copy_mechanism=none # containers without ptrace between ranks

rand_tokens() { $PY -c "import random; r=random.Random($3); print(' '.join(str(r.randrange($2)) for _ in range($1)))"; }
rand_tokens 20000 101 $SEED > $T/ids.txt
$G prepare --tokens $T/ids.txt --vocab-size 101 --val-fraction 0.1 --out $T/data >/dev/null 2>$T/err || fail prepare "$(cat $T/err)"
# tiny model: 2 layers, 2 heads, width 30 (not a multiple of 8), 15 positions per row
ARCH="--n-layer 2 --n-head 2 --n-embd 30 --n-positions 32 --vocab-size 101 --seq-len 15"
# 12 steps, accumulation 2, cosine schedule with warmup, clipping at 0.5 (it clips),
# evaluation every 4 steps on 3 global batches, a checkpoint every 5 steps
PRE="--data $T/data $ARCH --max-steps 12 --grad-accum 2 --warmup-steps 2 --lr 2e-3 --grad-clip 0.5 --weight-decay 0.1
     --dropout 0 --eval-every 4 --eval-batches 3 --save-every 5 --keep-last 9 --sample-tokens 0 --seed $SEED --threads 1"
run() { # NAME CMD... : runs, reports a failure with the tail of stderr
    local name=$1; shift
    "$@" >$T/$name.out 2>$T/$name.err || { fail "$name" "rc $?: $(grep -v '^--' $T/$name.err | tail -4)"; return 1; }
}

# ---------------------------------------------------------------- (1) 2 ranks == 1 process with 2b
run pre1 $G train $PRE --batch-size 6 --out $T/pre1
run pre2 $MPI $G train $PRE --batch-size 3 --out $T/pre2 && $CMP $T/pre2 $T/pre1 1e-5 "pre-training: 2 ranks x 3 == 1 x 6"
run pre2z $MPI $G train $PRE --batch-size 3 --zero 1 --out $T/pre2z &&
    $CMP $T/pre2z $T/pre1 1e-5 "pre-training --zero 1: 2 ranks x 3 == 1 x 6"
# the global norm, the rank-order sums and ZeRO's own-share update are the same arithmetic
[ -f $T/pre2z/model/model.safetensors ] && $CMP $T/pre2z $T/pre2 0 "--zero 1 == --zero 0 bit for bit"
# buckets sent during backward (default) or after it: the same sums
run pre2n $MPI $G train $PRE --batch-size 3 --mpi-overlap 0 --out $T/pre2n &&
    $CMP $T/pre2n $T/pre2 0 "--mpi-overlap 0 == overlapped buckets bit for bit"
run seq1 $G train $PRE --loader sequential --batch-size 4 --out $T/seq1
run seq2 $MPI $G train $PRE --loader sequential --batch-size 2 --out $T/seq2 &&
    $CMP $T/seq2 $T/seq1 1e-5 "sequential loader: 2 ranks x 2 == 1 x 4"
# one writer: one line per step and per evaluation, a checkpoint at every evaluation and --save-every
n=$(grep -c train_loss $T/pre2/metrics.jsonl); m=$(grep -c val_loss $T/pre2/metrics.jsonl)
[ "$n" = 12 ] && [ "$m" = 3 ] && pass "one writer: 12 step lines, 3 evaluation lines" || fail "one writer" "$n step lines, $m eval lines"
ck=$(ls $T/pre2/checkpoints | tr '\n' ' ')
[ "$ck" = "step-10 step-12 step-4 step-5 step-8 " ] && pass "one writer: checkpoints $ck" || fail "one writer: checkpoints" "$ck"
ls -a $T/pre2 | grep -q -E '\.tmp|~' && fail "no temporaries left" "$(ls -a $T/pre2)" || pass "no temporaries left"
grep -c "done at step" $T/pre2.err | grep -qx 1 && [ "$(grep -c '^model:' $T/pre2.out)" = 1 ] &&
    pass "rank 0 alone reports" || fail "rank 0 alone reports" "$(cat $T/pre2.out)"
# mpirun -np 1 is a plain run
run np1 $MPI1 $G train $PRE --batch-size 6 --out $T/np1 && $CMP $T/np1 $T/pre1 0 "mpirun -np 1 == plain run, bit for bit"

# classification fine-tuning: 52 rows (texts of 2..8 words over 12 words), 2 labels,
# validation on 21 rows (the last global batch is partial), f1_macro selects the model
$PY - "$T" "$SEED" <<'EOF'
import random, sys
t, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
words = "good bad great awful fine poor nice terrible ok meh love hate".split()
good = set("good great fine nice love".split())
def rows(n):
    out = []
    for _ in range(n):
        ws = [r.choice(words) for _ in range(r.randrange(2, 9))]
        out.append("%s\t%s" % (" ".join(ws), "pos" if 2 * sum(w in good for w in ws) >= len(ws) else "neg"))
    return "\n".join(out) + "\n"
open(t + "/cls.tsv", "w").write(rows(52))
open(t + "/val.tsv", "w").write(rows(21))
open(t + "/text.txt", "w").write(" ".join(r.choice(words) for _ in range(4000)))
EOF
$G tokenizer-train --input $T/text.txt --vocab-size 290 --out $T/tok >/dev/null 2>&1 &&
$G init --out $T/base --n-layer 2 --n-head 3 --n-embd 21 --n-positions 16 --vocab-size 290 --dropout 0 --seed $SEED \
    --no-tokenizer >/dev/null 2>&1 && cp $T/tok/* $T/base/ || fail "base model" "tokenizer-train or init failed"
FT="--task classify --model $T/base --train $T/cls.tsv --val $T/val.tsv --no-header --epochs 2 --lr 2e-3 --grad-clip 0.5
    --eval-every 3 --seed $SEED --threads 1"
run ft1 $G finetune $FT --batch-size 6 --out $T/ft1
run ft2 $MPI $G finetune $FT --batch-size 3 --out $T/ft2 && $CMP $T/ft2 $T/ft1 1e-5 "classification: 2 ranks x 3 == 1 x 6"
run ft2z $MPI $G finetune $FT --batch-size 3 --zero 1 --out $T/ft2z &&
    $CMP $T/ft2z $T/ft1 1e-5 "classification --zero 1: 2 ranks x 3 == 1 x 6"
# LoRA (no adapter dropout: each rank has its own dropout stream): only the adapters and
# the head are exchanged
LORA="--lora --lora-target-modules c_attn,c_fc --lora-dropout 0 --lr 5e-3"
run lo1 $G finetune $FT $LORA --batch-size 6 --out $T/lo1
run lo2 $MPI $G finetune $FT $LORA --batch-size 3 --zero 1 --out $T/lo2 &&
    $CMP $T/lo2 $T/lo1 1e-5 "LoRA classification --zero 1: 2 ranks x 3 == 1 x 6"
# a BERT and an encoder-decoder: their blocks' gradients go out as each block's backward
# ends (buckets from the layer table, not from GPT-2's names); within 1e-4 (these tiny
# models' gradient norms are small, 5e-4, and a sum over two ranks' halves differs from
# one process's in the fifth digit)
$G tokenizer-train --model wordpiece --input $T/text.txt --vocab-size 120 --out $T/wp >/dev/null 2>&1 &&
$G init --arch bert --preset bert-tiny --num-hidden-layers 2 --hidden-size 18 --num-attention-heads 3 \
    --intermediate-size 26 --max-position-embeddings 16 --vocab-size 120 --hidden-dropout-prob 0 \
    --attention-probs-dropout-prob 0 --seed $SEED --out $T/bert >/dev/null 2>&1 && cp $T/wp/* $T/bert/ ||
    fail "bert model" "tokenizer-train --model wordpiece or init --arch bert failed"
BFT="${FT/$T\/base/$T/bert}"
run bft1 $G finetune $BFT --batch-size 6 --out $T/bft1
run bft2 $MPI $G finetune $BFT --batch-size 3 --out $T/bft2 &&
    $CMP $T/bft2 $T/bft1 1e-4 "BERT classification: 2 ranks x 3 == 1 x 6"
$PY - "$T" <<'EOF2'
import random, sys
t = sys.argv[1]
r = random.Random(11)
words = ["ka", "lo", "mi", "su", "te", "ra", "no", "vi"]
rows = []
for _ in range(40):
    ws = [r.choice(words) for _ in range(r.randrange(1, 7))]
    rows.append(" ".join(ws) + "\t" + " ".join(w[::-1] for w in reversed(ws)))
open(t + "/mt.tsv", "w").write("\n".join(rows[:30]) + "\n")
open(t + "/mtval.tsv", "w").write("\n".join(rows[30:]) + "\n")
open(t + "/mt.txt", "w").write("\n".join(x.replace("\t", "\n") for x in rows) + "\n")
EOF2
$G tokenizer-train --input $T/mt.txt --vocab-size 280 --out $T/mttok --no-default-special --special '</s>' '<pad>' \
    >/dev/null 2>&1 &&
V=$($PY -c "import json,sys; print(max(t['id'] for t in json.load(open(sys.argv[1]))['added_tokens']) + 1)" $T/mttok/tokenizer.json) &&
$G init --arch marian --preset marian-tiny --d-model 22 --encoder-layers 2 --decoder-layers 2 --encoder-attention-heads 2 \
    --decoder-attention-heads 2 --encoder-ffn-dim 30 --decoder-ffn-dim 30 --max-position-embeddings 32 \
    --vocab-size $V --eos-token-id $((V - 2)) --pad-token-id $((V - 1)) --dropout 0 --seed $SEED --out $T/mt \
    >/dev/null 2>&1 && cp $T/mttok/* $T/mt/ || fail "marian model" "tokenizer-train or init --arch marian failed"
# rows hold different numbers of labels, so a rank's loss is the mean over its own rows'
# labels and the step averages the ranks' (as PyTorch's DDP): the one-process run to
# match accumulates two micro-batches of 3 (each its own mean) rather than one of 6
MFT="--task translate --model $T/mt --train $T/mt.tsv --val $T/mtval.tsv --epochs 2 --lr 2e-3 --grad-clip 0.5
    --label-smoothing 0.1 --eval-every 3 --seed $SEED --threads 1 --batch-size 3"
run mft1 $G finetune $MFT --grad-accum 2 --out $T/mft1
run mft2 $MPI $G finetune $MFT --out $T/mft2 &&
    $CMP $T/mft2 $T/mft1 1e-4 "translation: 2 ranks x 3 == 1 x 3 x 2 accumulated"
grep -q f1_macro $T/ft2/metrics.jsonl && pass "classification: the metric reduced over ranks is logged" ||
    fail "classification metric" "no f1_macro in metrics.jsonl"

# ---------------------------------------------------------------- (2) faults
# long enough that the kill and SIGTERM land mid-run (400 steps took 0.9 s on a Zen 4 and
# once ended before SIGTERM reached the ranks)
LONG="--data $T/data $ARCH --batch-size 2 --max-steps 1200 --lr 1e-3 --dropout 0.1 --eval-every 50 --eval-batches 2
      --save-every 7 --sample-tokens 0 --seed $SEED --threads 1"
run full $MPI $G train $LONG --out $T/full
wait_for() { for i in $(seq 1 1500); do [ -d "$1" ] && return 0; sleep 0.02; done; return 1; }
$MPI $G train $LONG --out $T/killed >$T/killed.out 2>&1 &
mp=$!
if wait_for $T/killed/checkpoints/step-21; then
    victim=$(pgrep -P $mp | tail -1)
    t0=$(date +%s)
    kill -9 $victim
    wait $mp; rc=$?
    dt=$(( $(date +%s) - t0 ))
    [ $rc != 0 ] && [ $dt -le 60 ] && pass "kill -9 of a rank: mpirun exits $rc after $dt s" ||
        fail "kill -9 of a rank" "mpirun rc $rc after $dt s"
    if [ -d $T/killed/model ]; then
        fail "resume after kill -9" "the run finished before it could be killed"
    else
        run resume $MPI $G train --resume $T/killed --threads 1 && $CMP $T/killed $T/full 0 "resume after kill -9: bit-identical"
    fi
else
    fail "kill -9 of a rank" "no checkpoint appeared"; kill $mp; wait $mp
fi
$MPI $G train $LONG --out $T/term >$T/term.out 2>&1 &
mp=$!
if wait_for $T/term/checkpoints/step-14; then
    kill -TERM $mp; wait $mp; rc=$?
    grep -q "interrupted at step" $T/term.out && [ $rc != 0 ] && pass "SIGTERM to mpirun: the ranks stop together (rc $rc)" ||
        fail "SIGTERM to mpirun" "rc $rc: $(tail -3 $T/term.out)"
    run resume-term $MPI $G train --resume $T/term --threads 1 && $CMP $T/term $T/full 0 "resume after SIGTERM: bit-identical"
else
    fail "SIGTERM to mpirun" "no checkpoint appeared"; kill $mp; wait $mp
fi
$MPI $G train $LONG --mpi-timeout 3 --out $T/stopped >$T/stopped.out 2>&1 &
mp=$!
if wait_for $T/stopped/checkpoints/step-7; then
    victim=$(pgrep -P $mp | tail -1)
    t0=$(date +%s)
    kill -STOP $victim
    wait $mp; rc=$?
    dt=$(( $(date +%s) - t0 ))
    kill -KILL $victim 2>/dev/null
    [ $rc != 0 ] && [ $dt -le 30 ] && grep -q "no answer from rank" $T/stopped.out &&
        pass "a stopped rank: the others fail after --mpi-timeout 3 ($dt s)" ||
        fail "a stopped rank" "rc $rc after $dt s: $(grep -v '^--' $T/stopped.out | tail -3)"
else
    fail "a stopped rank" "no checkpoint appeared"; kill $mp; wait $mp
fi
# ranks that disagree (MPMD: rank 1 is given another --lr) refuse to start
${MPI1} $G train $PRE --batch-size 3 --out $T/dis : -np 1 $G train $PRE --batch-size 3 --lr 1e-3 --out $T/dis \
    >$T/dis.out 2>&1; rc=$?
[ $rc != 0 ] && grep -q "rank 1 disagrees with rank 0 on the options" $T/dis.out && [ ! -d $T/dis/checkpoints/step-1 ] &&
    pass "ranks with different options refuse to start" || fail "ranks disagree" "rc $rc: $(grep -v '^--' $T/dis.out | head -3)"

# ---------------------------------------------------------------- (3) another number of ranks
X="--data $T/data $ARCH --grad-accum 2 --lr 2e-3 --dropout 0 --eval-every 0 --save-every 5 --sample-tokens 0 --seed $SEED --threads 1"
run x2 $MPI $G train $X --batch-size 3 --max-steps 12 --out $T/x2
run x2a $MPI $G train $X --batch-size 3 --max-steps 12 --out $T/x2a
rm -rf $T/x2a/model $T/x2a/checkpoints/step-12 && sed -i '/"step": 1[12],/d' $T/x2a/metrics.jsonl
run x2a-on1 $G train --resume $T/x2a --batch-size 6 --threads 1 &&
    $CMP $T/x2a $T/x2 1e-5 "a 2-rank checkpoint resumes on 1 process (--batch-size 6)"
expect_error "resume with another global batch" "global batch was 6 rows" $G train --resume $T/x2 --max-steps 14 --batch-size 3 --threads 1
run x1 $G train $X --batch-size 6 --max-steps 12 --out $T/x1
rm -rf $T/x1/model $T/x1/checkpoints/step-12 && sed -i '/"step": 1[12],/d' $T/x1/metrics.jsonl
run x1-on2 $MPI $G train --resume $T/x1 --batch-size 3 --zero 1 --threads 1 &&
    $CMP $T/x1 $T/x2 1e-5 "a 1-process checkpoint resumes on 2 ranks with --zero 1 (--batch-size 3)"

# ---------------------------------------------------------------- (4) --config
run cfg $G train --config $T/pre1/run.json --out $T/pre1c --threads 1 && $CMP $T/pre1c $T/pre1 0 "train: --config run.json repeats the run"
run cfgft $G finetune --config $T/ft1/run.json --out $T/ft1c --threads 1 && $CMP $T/ft1c $T/ft1 0 "finetune: --config run.json repeats the run"
# the command line overrides the file
run cfgo $G train --config $T/pre1/run.json --max-steps 3 --out $T/pre1o --threads 1 &&
    [ "$(grep -c train_loss $T/pre1o/metrics.jsonl)" = 3 ] && grep -q '"max_steps": 3' $T/pre1o/run.json &&
    pass "flags override --config" || fail "flags override --config" "$(grep -c train_loss $T/pre1o/metrics.jsonl) steps"
echo '{"lr": 1e-3, "bogus_opt": 3}' >$T/c1.json
expect_error "config: unknown field" "c1.json: field bogus_opt: unknown option" $G train --config $T/c1.json --data $T/data --out $T/c1
echo '{"lr": [1]}' >$T/c2.json
expect_error "config: bad value" "c2.json: field lr: expected a string" $G train --config $T/c2.json --data $T/data --out $T/c2
echo '{"lr": 1' >$T/c3.json
expect_error "config: broken JSON" "c3.json:.*invalid JSON" $G train --config $T/c3.json --data $T/data --out $T/c3
echo '[1, 2]' >$T/c4.json
expect_error "config: not an object" "c4.json: expected a JSON object" $G train --config $T/c4.json --data $T/data --out $T/c4
echo '{"lr": "fast"}' >$T/c5.json
expect_error "config: value the flag refuses" "option --lr: 'fast' is not a number" $G train --config $T/c5.json --data $T/data --out $T/c5
[ ! -e $T/c1 ] && [ ! -e $T/c2 ] && [ ! -e $T/c5 ] && pass "config errors write nothing" || fail "config errors write nothing" "$(ls -d $T/c?)"
# without mpirun but told so, and libmpi missing: a clear error
expect_error "no libmpi" "cannot be loaded" env OMPI_COMM_WORLD_SIZE=2 GPTC_MPI_LIB=/nonexistent/libmpi.so $G train $PRE --batch-size 3 --out $T/nolib
rm -rf "$T"
