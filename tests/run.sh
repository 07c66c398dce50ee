#!/usr/bin/env bash
# run.sh: runs every test and prints the closing line "N passed, N failed".
#  - build/asan/tests/test_*  C tests under AddressSanitizer + UBSan (the kernel ones
#                             also under GPTC_CPU=avx2)
#  - tests/t_*.sh             command-line and reference tests (PyTorch, tiktoken)
# Each test prints "PASS name" / "FAIL name: why"; a test that exits non-zero without
# printing a FAIL line counts as one failure (a crash).
cd "$(dirname "$0")/.." || exit 2
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export GPTC_DATA_DIR=$PWD/build/share/gptc
export GPTC_TEST_TMP=$(mktemp -d)
trap 'rm -rf "$GPTC_TEST_TMP"' EXIT
pass=0; fail=0
run_one() {
    local name=$1; shift
    local log="$GPTC_TEST_TMP/log.$$.$RANDOM"
    local t0=$(date +%s)
    "$@" >"$log" 2>&1
    local rc=$?
    local p=$(grep -c '^PASS ' "$log") f=$(grep -c '^FAIL ' "$log")
    if [ "$rc" != 0 ] && [ "$f" = 0 ]; then f=1; echo "FAIL $name: exited with $rc" >>"$log"; fi
    if [ "$p" = 0 ] && [ "$f" = 0 ]; then f=1; echo "FAIL $name: ran no check" >>"$log"; fi
    pass=$((pass + p)); fail=$((fail + f))
    echo "== $name: $p passed, $f failed ($(( $(date +%s) - t0 )) s)"
    if [ "$f" != 0 ]; then grep -v '^PASS ' "$log" | tail -n 40; fi
}
for t in build/asan/tests/test_*; do
    [ -x "$t" ] || continue
    case "$t" in *.d) continue ;; esac
    run_one "$(basename "$t") (asan)" "$t"
done
# the kernel tests again under the AVX2 class (GPTC_CPU=avx2; test_cpu_cap checks the
# cap itself): every path they force, and the batch invariance, up to AVX2 only
for t in test_vexp test_gemv test_dequant test_quant test_attend test_batch_invariance; do
    [ -x build/asan/tests/$t ] || continue
    run_one "$t (asan, GPTC_CPU=avx2)" env GPTC_CPU=avx2 build/asan/tests/$t
done
for t in tests/t_*.sh; do
    [ -f "$t" ] || continue
    run_one "$(basename "$t")" bash "$t"
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
