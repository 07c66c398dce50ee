#!/usr/bin/env bash
# bench_mpi.sh: data-parallel training of GPT-2 124M on this machine with Open MPI: the
# same global batch (4 sequences of 64 tokens, random tokens over GPT-2's vocabulary)
# trained by 1 rank x all threads and by 2 ranks x half the threads, with the gradient
# buckets sent during backward (default) and after it (--mpi-overlap 0). Each run is
# `gptc train` for MPI_STEPS steps (default 5); reported: the median tokens/s and the
# median seconds rank 0 spent in the exchange after backward (metrics.jsonl's
# allreduce_s) over the steps after the first. Prints one line per configuration.
set -uo pipefail
cd "$(dirname "$0")/.."
G=build/gptc
W=build/bench/mpi
STEPS=${MPI_STEPS:-5}
CORES=$(nproc)
HALF=$(( CORES / 2 > 0 ? CORES / 2 : 1 ))
if ! command -v mpirun >/dev/null 2>&1; then
    echo "bench_mpi: mpirun is missing (scripts/deps.sh test installs openmpi-bin)"; exit 0
fi
MPI="mpirun --oversubscribe --bind-to none"
[ "$(id -u)" = 0 ] && MPI="$MPI --allow-run-as-root"
rm -rf $W && mkdir -p $W
/usr/bin/python3 -c "import random; r=random.Random(1); print(' '.join(str(r.randrange(50257)) for _ in range(200000)))" >$W/ids.txt
$G prepare --tokens $W/ids.txt --vocab-size 50257 --val-fraction 0 --out $W/data >/dev/null 2>&1 || { echo "bench_mpi: prepare failed"; exit 1; }
ARGS="--data $W/data --preset gpt2 --seq-len 64 --max-steps $STEPS --eval-every 0 --sample-tokens 0 --dropout 0 --keep-last 1"
median() { sort -g | awk '{ a[NR] = $1 } END { if (NR) print (NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2); else print "-" }'; }
report() { # NAME RUN
    local m=$W/$2/metrics.jsonl
    if [ ! -f $m ]; then echo "$1: failed ($(tail -2 $W/$2.err | tr '\n' ' '))"; return; fi
    tok=$(grep train_loss $m | tail -n +2 | sed 's/.*"tokens_per_s": \([0-9.]*\).*/\1/' | median)
    ar=$(grep -q allreduce_s $m && grep train_loss $m | tail -n +2 | sed 's/.*"allreduce_s": \([0-9.]*\).*/\1/' | median || echo "-")
    echo "$1: tokens/s $tok, exchange after backward $ar s per step"
}
$G train $ARGS --batch-size 4 --threads $CORES --out $W/r1 >/dev/null 2>$W/r1.err
report "1 rank x $CORES threads, batch 4 x 64" r1
$MPI -np 2 $G train $ARGS --batch-size 2 --threads $HALF --out $W/r2 >/dev/null 2>$W/r2.err
report "2 ranks x $HALF threads, batch 2 x 64 each, buckets during backward" r2
$MPI -np 2 $G train $ARGS --batch-size 2 --threads $HALF --mpi-overlap 0 --out $W/r2n >/dev/null 2>$W/r2n.err
report "2 ranks x $HALF threads, batch 2 x 64 each, exchange after backward" r2n
rm -rf $W/r1/checkpoints $W/r2/checkpoints $W/r2n/checkpoints $W/*/model $W/ids.txt
