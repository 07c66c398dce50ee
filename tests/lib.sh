# lib.sh: helpers for the shell tests (sourced). Each check prints PASS/FAIL lines.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GPTC=${GPTC:-$ROOT/build/gptc}
GPTC_ASAN=${GPTC_ASAN:-$ROOT/build/asan/gptc}
PY=/usr/bin/python3
NODE_PATH=$ROOT/.deps/node/node_modules; export NODE_PATH
T=$(mktemp -d "${GPTC_TEST_TMP:-/tmp}/t.XXXXXX")
pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
check() { local name=$1; shift; if "$@"; then pass "$name"; else fail "$name" "command failed: $*"; fi; }
# expect_error NAME PATTERN CMD...: CMD must exit non-zero (not by a signal or a
# sanitizer) and print an error line matching PATTERN (grep -E) on stderr.
expect_error() {
    local name=$1 pat=$2; shift 2
    "$@" >"$T/out" 2>"$T/err"; local rc=$?
    if [ $rc = 0 ]; then fail "$name" "exited 0, expected an error"; return; fi
    if [ $rc -ge 128 ] || grep -q -E 'Sanitizer|runtime error' "$T/err"; then
        fail "$name" "crashed (rc $rc): $(head -c 400 "$T/err")"; return; fi
    if ! grep -q -E "$pat" "$T/err"; then fail "$name" "stderr lacks /$pat/: $(head -c 400 "$T/err")"; return; fi
    pass "$name"
}
# fresh TARGET: brings make's TARGET (a path under ROOT) up to date: a no-op under `make
# test`, which builds every test program first; a test run by hand never uses a program
# older than the library.
fresh() { make -s -C "$ROOT" "$1" >/dev/null 2>&1; }
# ref_setup NAME SCRIPT: for the tests against a PyTorch model: DRIVER (the reference
# driver, fresh), REF (tests/ref/SCRIPT), SEED (GPTC_TEST_SEED or a fresh one, printed);
# exits with NAME failed when the driver or torch/numpy is missing.
ref_setup() {
    DRIVER=$ROOT/build/tests/tool_ref_driver
    REF=$ROOT/tests/ref/$2
    fresh build/tests/tool_ref_driver
    if [ ! -x "$DRIVER" ]; then fail "$1" "build/tests/tool_ref_driver is missing (make build/tests/tool_ref_driver)"; exit 1; fi
    if ! $PY -c 'import torch, numpy' 2>/dev/null; then fail "$1" "$PY lacks torch/numpy (apt install python3-torch)"; exit 1; fi
    SEED=${GPTC_TEST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
    echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"
}
