#!/usr/bin/env bash
# t_stream_utf8.sh: streaming output when a token is only part of a UTF-8 character
# (issue 10: `gptc chat` and `gptc generate --stop` crashed when the first generated
# token was one byte of a Korean syllable). The model is made to emit GPT-2's token for
# the lone byte 0xEC on every step (tests/ref/force_token.py).
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC; [ -x "$GPTC_ASAN" ] && G=$GPTC_ASAN

"$GPTC" init --out "$T/m" --preset tiny --n-positions 128 --seed 4 >/dev/null 2>&1 || fail init "gptc init failed"
ID=$($PY -c "import json,sys; print(json.load(open(sys.argv[1]))['\u00ec'])" "$T/m/vocab.json")
$PY "$ROOT/tests/ref/force_token.py" "$T/m" "$ID" || fail force_token "force_token.py failed"

# generate with a stop string: the text is bytes 0xEC, each one invalid -> U+FFFD
"$G" generate --model "$T/m" --prompt "안녕" --max-new-tokens 3 --stop "xx" >"$T/g.out" 2>"$T/g.err"; rc=$?
if [ $rc = 0 ] && $PY -c "import sys; t=open(sys.argv[1],'rb').read().decode('utf-8'); sys.exit(0 if t.strip('\n') == '\ufffd'*3 else 1)" "$T/g.out"
then pass "generate --stop: first token a partial UTF-8 character"
else fail "generate --stop: first token a partial UTF-8 character" "rc $rc: $(head -c 300 "$T/g.err") out $(od -c "$T/g.out" | head -2)"; fi

# without a stop string, and with --json
"$G" generate --model "$T/m" --prompt "안녕" --max-new-tokens 2 >"$T/g2.out" 2>"$T/g2.err" &&
    pass "generate: partial UTF-8 first token without --stop" ||
    fail "generate: partial UTF-8 first token without --stop" "$(head -c 300 "$T/g2.err")"

# chat always has a stop string
printf '안녕하세요\n' | "$G" chat --model "$T/m" --max-new-tokens 4 >"$T/c.out" 2>"$T/c.err"; rc=$?
if [ $rc = 0 ] && ! grep -q -E 'Sanitizer|runtime error' "$T/c.err"; then pass "chat: partial UTF-8 first token"
else fail "chat: partial UTF-8 first token" "rc $rc: $(head -c 300 "$T/c.err")"; fi
