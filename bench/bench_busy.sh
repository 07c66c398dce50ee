#!/usr/bin/env bash
# bench_busy.sh: the GPT-2 124M training step (batch 4 x 64, fp32) of gptc
# (build/bench/bench_train) and PyTorch (bench/torch_train.py, all cores,
# OMP_WAIT_POLICY=PASSIVE) as the machine is, then with one competing busy process beside
# it (`yes >/dev/null`, started before and killed after each program), as issue 13 asks:
# speed that holds when another process takes a core. BUSY_STEPS timed steps (default 3)
# after 1 warm-up; reported: the best and the mean step, and the busy/quiet ratio of the
# means. The load average before each case is printed with it: on a machine that other
# work already shares, "quiet" means without the added process, not idle.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2
OUT=build/bench
STEPS=${BUSY_STEPS:-3}
CORES=$(nproc)
PY=/usr/bin/python3
[ -x $OUT/bench_train ] || { echo "bench_busy: build $OUT/bench_train first (bash bench/run.sh builds it)"; exit 1; }
field() { echo "$1" | grep -o -E "(^| )$2=[^ ]+" | head -n 1 | cut -d= -f2; }
YES=""
trap '[ -z "$YES" ] || kill $YES 2>/dev/null' EXIT
one() { # IMPL busy(0|1): prints "ms ms_mean load"
    local load r
    if [ "$2" = 1 ]; then
        yes >/dev/null &
        YES=$!
        trap 'kill $YES 2>/dev/null' EXIT # this runs in $(...): its own exit
        sleep 1
    fi
    load=$(cut -d' ' -f1 /proc/loadavg)
    if [ "$1" = gptc ]; then
        r=$($OUT/bench_train --preset gpt2 --batch 4 --seq 64 --steps "$STEPS" 2>/dev/null | grep '^RESULT' | tail -n 1)
    else
        r=$(OMP_WAIT_POLICY=PASSIVE $PY bench/torch_train.py --preset gpt2 --batch 4 --seq 64 --steps "$STEPS" \
            --threads "$CORES" 2>/dev/null | grep '^RESULT' | tail -n 1)
    fi
    if [ -n "$YES" ]; then kill $YES 2>/dev/null; wait $YES 2>/dev/null; YES=""; fi
    echo "$(field "$r" ms) $(field "$r" ms_mean) $load"
}
echo "| GPT-2 124M train step, batch 4 x 64 | quiet: best / mean ms (load before) | one busy process: best / mean ms (load before) | busy / quiet (means) |"
echo "|---|---|---|---|"
for impl in gptc torch; do
    if [ $impl = torch ] && ! $PY -c 'import torch' 2>/dev/null; then echo "| PyTorch | not installed | | |"; continue; fi
    read -r qb qm ql <<<"$(one $impl 0)"
    read -r bb bm bl <<<"$(one $impl 1)"
    r=$(awk -v a="$bm" -v b="$qm" 'BEGIN { if (a > 0 && b > 0) printf "%.2f", a / b; else print "-" }')
    echo "| $([ $impl = gptc ] && echo gptc || echo PyTorch) | ${qb:-fail} / ${qm:-fail} ($ql) | ${bb:-fail} / ${bm:-fail} ($bl) | $r |"
done
