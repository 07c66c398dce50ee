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
