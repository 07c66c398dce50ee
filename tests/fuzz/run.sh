#!/usr/bin/env bash
# run.sh NAME...: runs build/fuzz/fuzz_NAME (made by `make fuzz`) for FUZZ_SECONDS each
# (default 120), FUZZ_JOBS at a time (default 2), on tests/fuzz/corpus_NAME (read only:
# new inputs go to build/fuzz/work/NAME). A crash, leak or sanitizer report ends libFuzzer's
# run; the target is then started again for the time left (at most 5 times), so it gets its
# whole time. Crash inputs are kept in build/fuzz/crashes/NAME/ (minimize one with
# `build/fuzz/fuzz_NAME -minimize_crash=1 -runs=20000 FILE`, fix the bug and move the input into
# the corpus so `make test` replays it). Prints, per target, the executions (libFuzzer's
# stat::number_of_executed_units) and the crashes; exits 1 when any target crashed.
set -u
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-120}
JOBS=${FUZZ_JOBS:-2}
mkdir -p build/fuzz/log

one() {
    local name=$1 bin=build/fuzz/fuzz_$1 log=build/fuzz/log/$1.log
    local work=build/fuzz/work/$name crash=build/fuzz/crashes/$name
    mkdir -p "$work" "$crash"
    : >"$log"
    local start=$SECONDS left=$SECS tries=0
    while [ "$left" -gt 0 ] && [ "$tries" -lt 5 ]; do
        tries=$((tries + 1))
        "$bin" -max_total_time="$left" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 \
            -artifact_prefix="$crash/" "$work" "tests/fuzz/corpus_$name" >>"$log" 2>&1
        local rc=$?
        [ "$rc" -eq 0 ] && break
        left=$((SECS - (SECONDS - start)))
    done
    # executions summed over the restarts; a crash is an input libFuzzer wrote out
    # (crash-, leak-, timeout- or oom-)
    local execs
    execs=$(awk '/stat::number_of_executed_units:/ {n += $2} END {print n + 0}' "$log")
    printf '%s %s %s %s\n' "$name" "$execs" "$(grep -c 'Test unit written to' "$log")" "$((SECONDS - start))" \
        >"build/fuzz/log/$name.stat"
}

for name in "$@"; do
    while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
    echo "fuzz_$name: ${SECS}s ..."
    one "$name" &
done
wait

bad=0
printf '%-14s %12s %8s %6s\n' target executions crashes secs
for name in "$@"; do
    read -r n execs crashes secs <"build/fuzz/log/$name.stat"
    printf '%-14s %12s %8s %6s\n' "$name" "$execs" "$crashes" "$secs"
    if [ "$crashes" -gt 0 ]; then
        bad=1
        grep -E 'Test unit written to|SUMMARY' "build/fuzz/log/$name.log" | sed 's/^/    /'
    fi
done
exit $bad
