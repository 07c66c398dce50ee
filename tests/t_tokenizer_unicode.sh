#!/usr/bin/env bash
# t_tokenizer_unicode.sh: every Unicode scalar value (U+0000..U+10FFFF, no surrogates) in
# several contexts (tests/tok/allcp.js: between letters, upper/lower case, after a space,
# an apostrophe, punctuation, a newline, before digits and spaces, doubled), encoded by
# the npm package tiktoken and by gptc for gpt2, cl100k_base and o200k_base: every id
# must be the same (gptc's built-in pre-tokenizers follow tiktoken's Unicode 16.0).
# GPTC_TOK_UNICODE_LAST=0xFFFF limits the range (quicker runs by hand).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export GPTC_DATA_DIR=${GPTC_DATA_DIR:-$ROOT/build/share/gptc}
if ! command -v node >/dev/null || [ ! -d "$NODE_PATH/tiktoken" ]; then
    fail tiktoken_available "node + npm tiktoken missing: run \`sh scripts/deps.sh test\`"
    exit 1
fi
node "$ROOT/tests/tok/allcp.js" "$T/all.txt" 0 $((${GPTC_TOK_UNICODE_LAST:-0x10FFFF})) || fail gen "allcp.js failed"
echo "text: $(stat -c %s "$T/all.txt") bytes"
# tiktoken takes ~30 s per encoding here: two at a time.
node "$ROOT/tests/tok/tiktoken_ordinary.js" "$T/all.txt" "$T/tk.gpt2" gpt2 &
node "$ROOT/tests/tok/tiktoken_ordinary.js" "$T/all.txt" "$T/tk.cl100k_base" cl100k_base
wait
node "$ROOT/tests/tok/tiktoken_ordinary.js" "$T/all.txt" "$T/tk.o200k_base" o200k_base &
for e in gpt2 cl100k_base o200k_base; do
    [ $e = o200k_base ] && wait
    "$GPTC" tokenize --threads 2 --encoding $e "$T/all.txt" >"$T/g.$e"
    n=$(wc -w <"$T/tk.$e")
    if cmp -s "$T/g.$e" "$T/tk.$e"; then
        pass "every_code_point_$e ($n ids identical)"
    else
        tr ' ' '\n' <"$T/g.$e" >"$T/g.l"; tr ' ' '\n' <"$T/tk.$e" >"$T/w.l"
        line=$(cmp "$T/g.l" "$T/w.l" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p')
        ndiff=$(diff "$T/g.l" "$T/w.l" | grep -c '^[<>]')
        ctx=$(sed -n "$((line > 4 ? line - 4 : 1)),$((line + 4))p" "$T/w.l" | tr '\n' ' ' |
              "$GPTC" detokenize --encoding $e | od -An -tx1 | head -3 | tr -s ' \n' ' ')
        fail "every_code_point_$e" "$n tiktoken ids, $ndiff lines differ (diff); first at id $line: got $(sed -n "${line}p" "$T/g.l") want $(sed -n "${line}p" "$T/w.l"), bytes near it: $ctx"
    fi
done
