#!/usr/bin/env bash
# t_tokenizer_train.sh: `gptc tokenizer-train` against tests/ref/bpe_train_ref.py (a slow
# reference that recounts every pair per merge) on a fresh random corpus of English,
# Korean, code and emoji: the same word counts, the same merges in the same order, the
# same ids; output layout; thread/chunk invariance; broken inputs.
source "$(dirname "$0")/lib.sh"
REF=$ROOT/tests/ref/bpe_train_ref.py
SEED=${SEED:-$RANDOM}
echo "seed $SEED"

# ---- a corpus of a few hundred KB, new each run
$PY - "$SEED" "$T/corpus.txt" "$T/corpus2.txt" <<'EOF'
import random, sys
rng = random.Random(int(sys.argv[1]))
en = ("the of and to in is was that for it with as his on be at by had are but from or have an "
      "they which one you were all we her she there would their will when who him been has more if "
      "no out do so can what up said about other into than its time only could new them man some "
      "these then two first May any like my now over such our people years Hello World Tokenizer "
      "merge byte-level training vocabulary").split()
ko = ("안녕하세요 한국어 토크나이저 학습 데이터 사람 시간 우리 그리고 하지만 문장 단어 모델 "
      "이것은 테스트입니다 서울 바다 하늘 사랑 컴퓨터 프로그램 언어 공부 했다 합니다 있습니다").split()
code = ["def f(x):\n    return x * 2\n", "for (int i = 0; i < n; i++) {\n\tsum += a[i];\n}\n",
        "if x != None and y >= 3:\n        print(f\"{x}: {y}\")\n", "#include <stdio.h>\n",
        "  const auto it = map.find(key);  // lookup\n", "SELECT * FROM t WHERE id = 42;\n"]
emoji = ["😀", "🎉", "👍🏽", "👨‍👩‍👧", "🇰🇷", "❤️", "🔥", "✨", "🙂"]
punct = [".", ",", "!", "?", ";", ":", "...", " -", " (", ")", "\"", "'s", "'t", "'re", "'ll", "'ve", "'m", "'d"]
ws = [" ", " ", " ", " ", "  ", "\t", "\n", "\n\n", " \n", "\r\n", "\u3000", "\u00a0", "   "]
def para():
    out = []
    for _ in range(rng.randint(5, 60)):
        r = rng.random()
        if r < 0.55: out.append(rng.choice(en))
        elif r < 0.8: out.append(rng.choice(ko))
        elif r < 0.85: out.append(rng.choice(emoji))
        elif r < 0.9: out.append(str(rng.randint(0, 2000)))
        else: out.append(rng.choice(punct))
        out.append(rng.choice(ws) if rng.random() < 0.3 else " ")
    if rng.random() < 0.2: out.append(rng.choice(code))
    if rng.random() < 0.1: out.append("<|endoftext|>")
    return "".join(out)
for path, size in ((sys.argv[2], 300_000), (sys.argv[3], 60_000)):
    parts, n = [], 0
    while n < size:
        p = para() + "\n"
        parts.append(p)
        n += len(p.encode())
    open(path, "w", encoding="utf-8", newline="").write("".join(parts))
EOF
check "corpus generated" test -s "$T/corpus.txt"

# Layout checks: valid JSON, contiguous ids, merges' parts and results in the vocab.
layout() { # DIR VOCAB_SIZE N_SPECIAL
    $PY - "$@" <<'EOF'
import json, sys, os
d, vsize, nsp = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
v = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
ids = sorted(v.values())
assert ids == list(range(len(ids))), "ids not contiguous"
assert len(v) == vsize, "vocab has %d tokens, asked for %d" % (len(v), vsize)
lines = open(os.path.join(d, "merges.txt"), encoding="utf-8").read().split("\n")
assert lines[0] == "#version: 0.2" and lines[-1] == "", "merges.txt header/ending"
seen = set()
for ln in lines[1:-1]:
    a, b = ln.split(" ")
    assert a in v and b in v and a + b in v, "merge %r: part or result missing" % ln
    assert (a, b) not in seen, "duplicate merge %r" % ln
    seen.add((a, b))
# every learned token is the result of a merge that comes before any merge using it
assert len(seen) >= len(v) - 256 - nsp
if nsp:
    m = json.load(open(os.path.join(d, "special_tokens_map.json"), encoding="utf-8"))
    assert isinstance(m, dict) and m
    top = sorted(v, key=v.get)[-nsp:]
    assert all(t.startswith("<|") for t in top), "special tokens are not the last ids: %r" % top
EOF
}

for V in 300 777; do
    # V=300 without special tokens; V=777 with the defaults (<|endoftext|> <|im_start|>
    # <|im_end|>) and one more, <|endoftext|> given again (kept once)
    SP=(--no-default-special); NSP=0
    if [ $V = 777 ]; then SP=(--special '<|endoftext|>' '<|pad|>'); NSP=4; fi
    "$GPTC" tokenizer-train --input "$T/corpus.txt" "$T/corpus2.txt" --vocab-size $V "${SP[@]}" \
        --out "$T/c$V" --dump-words "$T/w$V.txt" >"$T/log" 2>&1
    check "train V=$V" grep -q "^tokenizer-train: .* merges" "$T/log"
    check "layout V=$V" layout "$T/c$V" $V $NSP
    # the reference's own pre-tokenization gives the same word counts
    RSP=(); [ $NSP = 4 ] && RSP=(--special '<|endoftext|>' --special '<|im_start|>' --special '<|im_end|>' --special '<|pad|>')
    $PY "$REF" pretok "${RSP[@]}" "$T/corpus.txt" "$T/corpus2.txt" >"$T/rw$V.txt"
    if cmp -s "$T/w$V.txt" "$T/rw$V.txt"; then pass "word counts = reference V=$V"
    else fail "word counts = reference V=$V" "$(diff "$T/w$V.txt" "$T/rw$V.txt" | head -5)"; fi
    $PY "$REF" train --words "$T/w$V.txt" --vocab-size $V --min-frequency 2 "${RSP[@]}" --out "$T/r$V"
    if cmp -s "$T/c$V/merges.txt" "$T/r$V/merges.txt"; then pass "merges = reference V=$V"
    else fail "merges = reference V=$V" "$(diff "$T/c$V/merges.txt" "$T/r$V/merges.txt" | head -5)"; fi
    check "vocab = reference V=$V" $PY -c "import json,sys; sys.exit(json.load(open(sys.argv[1]))!=json.load(open(sys.argv[2])))" \
        "$T/c$V/vocab.json" "$T/r$V/vocab.json"
done
check "special_tokens_map.json" $PY -c "import json,sys; m=json.load(open(sys.argv[1])); sys.exit(not (m['eos_token']=='<|endoftext|>' and m['additional_special_tokens']==['<|im_start|>', '<|im_end|>', '<|pad|>']))" \
    "$T/c777/special_tokens_map.json"
check "no special_tokens_map.json without specials" test ! -e "$T/c300/special_tokens_map.json"
"$GPTC" tokenizer-train --input "$T/corpus2.txt" --vocab-size 400 --no-chat-markers --out "$T/nc" >/dev/null 2>&1
check "--no-chat-markers keeps <|endoftext|> only" $PY -c "import json,sys; v=json.load(open(sys.argv[1])); sys.exit(not (v['<|endoftext|>']==399 and '<|im_start|>' not in v))" "$T/nc/vocab.json"

# min-frequency 1 (every pair) on the small file, against the reference
"$GPTC" tokenizer-train --input "$T/corpus2.txt" --vocab-size 600 --min-frequency 1 --no-default-special --out "$T/m1" \
    --dump-words "$T/wm1.txt" >/dev/null 2>&1
$PY "$REF" train --words "$T/wm1.txt" --vocab-size 600 --min-frequency 1 --out "$T/rm1"
check "merges = reference, min-frequency 1" cmp -s "$T/m1/merges.txt" "$T/rm1/merges.txt"

# early stop: a tiny text has few pairs seen 3 times
printf 'aaa bbb aaa bbb aaa ccc\n' >"$T/tiny.txt"
"$GPTC" tokenizer-train --input "$T/tiny.txt" --vocab-size 5000 --min-frequency 3 --no-default-special --out "$T/tiny" >"$T/out" 2>"$T/err"
check "early stop note" grep -q "stopped at" "$T/err"
check "early stop merges" test "$(sed 1d "$T/tiny/merges.txt" | tr '\n' '|')" = "a a|b b|aa a|"

# threads and chunking do not change anything
"$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 500 --threads 1 --out "$T/t1" --dump-words "$T/t1.txt" >/dev/null 2>&1
"$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 500 --threads 2 --chunk-size 777 --out "$T/t2" \
    --dump-words "$T/t2.txt" >/dev/null 2>&1
check "threads/chunks: same words" cmp -s "$T/t1.txt" "$T/t2.txt"
check "threads/chunks: same merges" cmp -s "$T/t1/merges.txt" "$T/t2/merges.txt"
check "threads/chunks: same vocab" cmp -s "$T/t1/vocab.json" "$T/t2/vocab.json"

# the trained tokenizer loads in gptc and round-trips text (when tokenize exists)
if "$GPTC" tokenize --help >/dev/null 2>&1 && "$GPTC" detokenize --help >/dev/null 2>&1; then
    head -c 20000 "$T/corpus.txt" >"$T/sample.txt"
    "$GPTC" tokenize --model "$T/c777" <"$T/sample.txt" >"$T/ids.txt" 2>"$T/err" &&
        "$GPTC" detokenize --model "$T/c777" <"$T/ids.txt" >"$T/back.txt" 2>>"$T/err"
    if cmp -s "$T/sample.txt" "$T/back.txt"; then pass "tokenize/detokenize round trip"
    else fail "tokenize/detokenize round trip" "$(head -c 300 "$T/err")"; fi
fi

# broken input: clear error, non-zero exit, no output directory
expect_error "missing input" "nope.txt" "$GPTC_ASAN" tokenizer-train --input "$T/nope.txt" --vocab-size 300 --out "$T/e1"
check "missing input: no output" test ! -e "$T/e1"
expect_error "vocab too small" "vocab-size: 257 is too small" "$GPTC_ASAN" tokenizer-train --input "$T/corpus2.txt" --vocab-size 257 \
    --special a b --out "$T/e2"
check "vocab too small: no output" test ! -e "$T/e2"
: >"$T/empty.txt"
expect_error "empty input" "empty.txt.*empty" "$GPTC_ASAN" tokenizer-train --input "$T/empty.txt" --vocab-size 300 --out "$T/e3"
check "empty input: no output" test ! -e "$T/e3"
expect_error "unwritable out" "[-]-out .*not a directory" "$GPTC_ASAN" tokenizer-train --input "$T/corpus2.txt" \
    --vocab-size 300 --out "$T/empty.txt/sub"
expect_error "input is a directory" "$T" "$GPTC_ASAN" tokenizer-train --input "$T" --vocab-size 300 --out "$T/e4"
check "input is a directory: no output" test ! -e "$T/e4"
expect_error "missing --out" "required" "$GPTC_ASAN" tokenizer-train --input "$T/corpus2.txt" --vocab-size 300
check "--help has an example" sh -c "'$GPTC' tokenizer-train --help | grep -q example"

# under ASan: train with specials and threads on the small corpus
"$GPTC_ASAN" tokenizer-train --input "$T/corpus2.txt" --vocab-size 400 --special '<|endoftext|>' --threads 2 \
    --chunk-size 1000 --out "$T/asan" >"$T/out" 2>"$T/err"
if [ $? = 0 ] && cmp -s "$T/asan/merges.txt" <("$GPTC" tokenizer-train --input "$T/corpus2.txt" --vocab-size 400 \
    --special '<|endoftext|>' --out "$T/noasan" >/dev/null 2>&1; cat "$T/noasan/merges.txt"); then pass "asan build agrees"
else fail "asan build agrees" "$(head -c 400 "$T/err")"; fi
rm -rf "$T"
