#!/usr/bin/env bash
# t_cpu_cap.sh: GPTC_CPU on the command line: an unknown value stops every command with
# exit status 2 and a message naming it; avx2 and scalar cap the level `gptc info`
# reports (cpu=LEVEL after the compute kernel, in text and --json) to min(cap, the
# CPU's best); a forced AVX-512 OpenBLAS core above the cap is refused, naming both.
# (tests/test_cpu_cap.c checks each kernel's choice and results under the cap.)
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC; [ -x "$GPTC_ASAN" ] && G=$GPTC_ASAN
"$GPTC" init --out "$T/m" --preset tiny --vocab-size 300 --seed 1 >/dev/null || { fail "init" "gptc init failed"; exit 1; }

expect_error "GPTC_CPU=avx3: refused, named" "GPTC_CPU=avx3: not avx512, avx2 or scalar" env GPTC_CPU=avx3 "$G" info --model "$T/m"
expect_error "GPTC_CPU=avx3 before any command" "GPTC_CPU=avx3" env GPTC_CPU=avx3 "$G" --version
env GPTC_CPU=avx3 "$G" --version >/dev/null 2>&1; rc=$?
[ $rc = 2 ] && pass "GPTC_CPU=avx3: exit status 2" || fail "GPTC_CPU=avx3: exit status 2" "status $rc"

level() { grep -o 'cpu=[a-z0-9]*' | head -n 1 | cut -d= -f2; }
best=$(env -u GPTC_CPU "$G" info --model "$T/m" 2>/dev/null | level)
case "$best" in avx512 | avx2 | scalar) pass "uncapped level reported ($best)" ;; *) fail "uncapped level reported" "'$best'" ;; esac
rank() { case "$1" in avx512) echo 2 ;; avx2) echo 1 ;; *) echo 0 ;; esac; }
for cap in avx2 AVX2 scalar avx512 ""; do
    c=$(echo "$cap" | tr A-Z a-z); [ -z "$c" ] && c=avx512
    want=$c; [ "$(rank "$best")" -lt "$(rank "$c")" ] && want=$best
    got=$(GPTC_CPU=$cap "$G" info --model "$T/m" 2>/dev/null | level)
    [ "$got" = "$want" ] && pass "GPTC_CPU=$cap: info says cpu=$want" || fail "GPTC_CPU=$cap: info says cpu=$want" "cpu=$got"
    got=$(GPTC_CPU=$cap "$G" info --model "$T/m" --json 2>/dev/null | $PY -c 'import json,sys; print(json.load(sys.stdin)["backend"])' | level)
    [ "$got" = "$want" ] && pass "GPTC_CPU=$cap: info --json backend says cpu=$want" ||
        fail "GPTC_CPU=$cap: info --json backend says cpu=$want" "cpu=$got"
done
if [ "$best" = avx512 ]; then
    out=$(GPTC_CPU=avx2 GPTC_BLAS=SkylakeX "$G" info --model "$T/m" 2>&1)
    echo "$out" | grep -q "GPTC_BLAS=SkylakeX: a core type above GPTC_CPU=avx2" &&
        pass "GPTC_BLAS=SkylakeX under GPTC_CPU=avx2: refused" ||
        fail "GPTC_BLAS=SkylakeX under GPTC_CPU=avx2: refused" "$(echo "$out" | grep -i kernel)"
fi
