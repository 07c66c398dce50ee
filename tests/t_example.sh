#!/usr/bin/env bash
# t_example.sh: examples/generate.c builds (`make examples`) and runs: it streams the same
# text as `gptc generate` with the same settings, so the documented API cannot go stale.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
if make -s -C "$ROOT" examples >"$T/make.log" 2>&1 && [ -x "$ROOT/build/examples/generate" ]; then
    pass "make examples builds examples/generate.c"
else
    fail "make examples builds examples/generate.c" "$(tail -n 20 "$T/make.log")"
    exit 1
fi
"$GPTC" init --out "$T/m" --preset tiny --n-positions 64 --seed 2 >/dev/null 2>&1
ex=$("$ROOT/build/examples/generate" "$T/m" "Once upon a time" 25 7 2>"$T/err")
rc=$?
cli=$("$GPTC" generate --model "$T/m" --prompt "Once upon a time" --max-new-tokens 25 --do-sample --top-p 0.9 --seed 7 2>/dev/null)
text=$(echo "$ex" | head -n -1)
if [ $rc = 0 ] && echo "$ex" | tail -n 1 | grep -q -E '^\[[0-9]+ tokens, finish_reason (length|eos)\]$'; then
    pass "the example runs"
else fail "the example runs" "rc $rc: $(head -c 300 "$T/err")"; fi
if [ -n "$text" ] && [ "$text" = "$cli" ]; then pass "the example's text == gptc generate with the same settings"
else fail "the example's text == gptc generate with the same settings" "'$text' vs '$cli'"; fi
expect_error "the example reports a missing model" "error: .*config.json" "$ROOT/build/examples/generate" "$T/none" "hi"
# the command-line program is a front end on the public API: it includes no internal
# header of the library, and builds against include/gptc.h alone
bad=$(grep -l '#include "\.\./' "$ROOT"/src/cli/*.c "$ROOT"/src/cli/*.h 2>/dev/null)
if [ -z "$bad" ] && cc -std=c11 -fsyntax-only -I"$ROOT/include" "$ROOT"/src/cli/*.c 2>"$T/cli.err"; then
    pass "the command line uses only the public header"
else fail "the command line uses only the public header" "${bad:-$(head -c 300 "$T/cli.err")}"; fi
