#!/usr/bin/env bash
# t_mt_tok.sh: the tokenizer of translation model directories (src/text/mt_tok.c) as
# transformers' MarianTokenizer computes it, against Debian's sentencepiece. An OPUS-MT
# style directory is made here: source.spm (unigram, 1201 pieces) and target.spm (BPE,
# 997 pieces) trained by spm_train on mixed English/Korean text (tests/spm/gen_text.py,
# seed printed), vocab.json = </s> 0, <unk> 1, the pieces of both models in a shuffled
# order with every 11th left out (so they become <unk>), >>kor<< and >>eng<<, <pad> last.
# The reference ids of each line are spm_encode --output_format=piece of the side's
# model mapped through vocab.json (absent -> <unk>), a leading >>xx<< its own token and
# every >>...<< cut from the text, then </s>; decoding drops </s> <pad> <unk>, maps ids to
# pieces, runs spm_decode --input_format=piece of target.spm, U+2581 -> space, strip().
# Then gptc's own BPE (tokenizer-train) with </s> appended, and broken directories.
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
if ! command -v spm_train >/dev/null || ! command -v spm_encode >/dev/null; then
    fail mt_tok_reference "spm_train/spm_encode missing: sh scripts/deps.sh test installs Debian's sentencepiece"
    exit 1
fi
SEED=${MT_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED"
$PY "$ROOT/tests/spm/gen_text.py" "$SEED" 300000 "$T/train.txt" train
$PY "$ROOT/tests/spm/gen_text.py" $((SEED + 1)) 60000 "$T/text.txt"
# language codes at the start, inside, unterminated, across a newline-free span
$PY - "$SEED" "$T/text.txt" >>"$T/text.txt" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[1]))
lines = [l.rstrip("\n") for l in open(sys.argv[2], encoding="utf-8", errors="surrogateescape")][:200]
for l in lines[:60]:
    k = r.randrange(4)
    sys.stdout.write([">>kor<< ", ">>eng<<", ">>xx<< ", ">>kor<<"][k] + l + ["", " >>eng<< tail", " >> <<", " >>z"][r.randrange(4)] + "\n")
EOF
D=$T/opus
mkdir -p "$D"
spm_train --input="$T/train.txt" --model_prefix="$T/src" --model_type=unigram --vocab_size=1201 --num_threads=2 >"$T/log" 2>&1 &&
spm_train --input="$T/train.txt" --model_prefix="$T/tgt" --model_type=bpe --vocab_size=997 --num_threads=2 >>"$T/log" 2>&1 ||
    { fail mt_tok_spm_train "$(tail -n 3 "$T/log")"; exit 1; }
cp "$T/src.model" "$D/source.spm"
cp "$T/tgt.model" "$D/target.spm"
$PY - "$SEED" "$T/src.vocab" "$T/tgt.vocab" "$D/vocab.json" <<'EOF'
import json, random, sys
r = random.Random(int(sys.argv[1]))
pieces = []
for f in sys.argv[2:4]:
    for line in open(f, encoding="utf-8"):
        p = line.rstrip("\n").split("\t")[0]
        if p not in ("<unk>", "<s>", "</s>") and p not in pieces:
            pieces.append(p)
r.shuffle(pieces)
pieces = [p for i, p in enumerate(pieces) if i % 11 != 5] + [">>kor<<", ">>eng<<"]
vocab = {"</s>": 0, "<unk>": 1}
for p in pieces:
    vocab[p] = len(vocab)
vocab["<pad>"] = len(vocab)
json.dump(vocab, open(sys.argv[4], "w", encoding="utf-8"), ensure_ascii=False, indent=1)
EOF
# reference: pieces by spm_encode, language codes as MarianTokenizer.remove_language_code
ref_ids() { # SIDE_MODEL OUT
    $PY - "$T/text.txt" "$T/clean.txt" "$T/codes.txt" <<'EOF'
import re, sys
code_re = re.compile(">>.+?<<")
src = open(sys.argv[1], "rb").read().split(b"\n")
if src and src[-1] == b"":
    src.pop()
with open(sys.argv[2], "wb") as c, open(sys.argv[3], "wb") as k:
    for b in src:
        t = b.decode("utf-8", "surrogateescape")
        m = code_re.match(t)
        k.write((m.group(0) if m else "").encode("utf-8", "surrogateescape") + b"\n")
        c.write(code_re.sub("", t).encode("utf-8", "surrogateescape") + b"\n")
EOF
    spm_encode --model="$1" --output_format=piece <"$T/clean.txt" >"$T/pieces.txt"
    $PY - "$D/vocab.json" "$T/codes.txt" "$T/pieces.txt" >"$2" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
codes = open(sys.argv[2], "rb").read().split(b"\n")
pcs = open(sys.argv[3], "rb").read().split(b"\n")
for code, line in zip(codes, pcs[:len(codes) - 1]):
    toks = ([code.decode("utf-8", "surrogateescape")] if code else []) + \
           [p.decode("utf-8", "surrogateescape") for p in line.split(b" ") if p]
    print(" ".join(str(v.get(t, v["<unk>"])) for t in toks + ["</s>"]))
EOF
}
for side in source target; do
    m=$D/$side.spm
    ref_ids "$m" "$T/$side.ref"
    flag=; [ $side = target ] && flag=--target
    "$G" tokenize --model "$D" $flag "$T/text.txt" >"$T/$side.ids" 2>"$T/err" || { fail "mt_tok_ids_$side" "$(head -c 300 "$T/err")"; continue; }
    nl=$(wc -l <"$T/$side.ref"); nu=$(awk '{ for (i = 1; i <= NF; i++) if ($i == 1) u++ } END { print u + 0 }' "$T/$side.ref")
    if cmp -s "$T/$side.ids" "$T/$side.ref"; then pass "mt_tok_ids_$side ($nl lines, $nu <unk>)"
    else fail "mt_tok_ids_$side" "first difference: $(diff "$T/$side.ref" "$T/$side.ids" | head -n 3 | cut -c1-300)"; fi
done
# decoding: the target ids of the text, and random ids (specials, language codes among them)
$PY - "$SEED" "$D/vocab.json" >"$T/rand.ids" <<'EOF'
import json, random, sys
r = random.Random(int(sys.argv[1])); n = len(json.load(open(sys.argv[2], encoding="utf-8")))
for _ in range(300):
    print(" ".join(str(r.randrange(n) if r.random() < 0.9 else r.choice([0, 1, n - 1, n - 2])) for _ in range(r.randint(0, 30))))
EOF
cat "$T/target.ref" "$T/rand.ids" >"$T/dec.ids"
$PY - "$D/vocab.json" "$T/dec.ids" >"$T/dec.pieces" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8")); inv = {i: p for p, i in v.items()}
special = {v["</s>"], v["<unk>"], v["<pad>"]}
for line in open(sys.argv[2]):
    print(" ".join(inv.get(int(x), "<unk>") for x in line.split() if int(x) not in special))
EOF
spm_decode --model="$D/target.spm" --input_format=piece <"$T/dec.pieces" >"$T/dec.spm"
$PY - "$T/dec.spm" >"$T/dec.ref" <<'EOF'
import sys
for b in open(sys.argv[1], "rb").read().split(b"\n")[:-1]:
    t = b.decode("utf-8", "surrogateescape").replace("\u2581", " ").strip()
    sys.stdout.buffer.write(t.encode("utf-8", "surrogateescape") + b"\n")
EOF
"$G" detokenize --model "$D" "$T/dec.ids" >"$T/dec.out" 2>"$T/err"
if cmp -s "$T/dec.out" "$T/dec.ref"; then pass "mt_tok_decode ($(wc -l <"$T/dec.ref") lines)"
else fail mt_tok_decode "$(diff "$T/dec.ref" "$T/dec.out" | head -n 3 | cut -c1-300) $(head -c 200 "$T/err")"; fi

# gptc's own joint BPE: ids of the BPE + </s>; decoding drops </s> and <pad>
B=$T/bpe
"$G" tokenizer-train --input "$T/train.txt" --vocab-size 700 --out "$B" --no-default-special --special '</s>' '<pad>' \
    >/dev/null 2>"$T/err" || fail mt_tok_bpe_train "$(head -c 300 "$T/err")"
printf '{"model_type": "marian"}\n' >"$B/config.json"
head -n 50 "$T/train.txt" >"$T/few.txt" # no NUL bytes: each line goes through a shell variable below
eos=$($PY -c "import json,sys; t=json.load(open(sys.argv[1])); print([a['id'] for a in t['added_tokens'] if a['content']=='</s>'][0])" "$B/tokenizer.json")
while IFS= read -r l || [ -n "$l" ]; do printf '%s' "$l" | "$G" tokenize --tokenizer "$B/tokenizer.json" 2>/dev/null | sed "s/\$/ $eos/" | sed 's/^ //'; done <"$T/few.txt" >"$T/bpe.ref"
"$G" tokenize --model "$B" "$T/few.txt" >"$T/bpe.ids" 2>"$T/err"
if cmp -s "$T/bpe.ids" "$T/bpe.ref"; then pass "mt_tok_bpe_ids (</s> = $eos)"
else fail mt_tok_bpe_ids "$(diff "$T/bpe.ref" "$T/bpe.ids" | head -n 3 | cut -c1-200) $(head -c 200 "$T/err")"; fi
head -n 5 "$T/few.txt" >"$T/five.txt"
if [ -s "$T/five.txt" ]; then
    "$G" tokenize --model "$B" "$T/five.txt" | "$G" detokenize --model "$B" >"$T/five.out" 2>"$T/err"
    if cmp -s "$T/five.out" "$T/five.txt"; then pass mt_tok_bpe_roundtrip
    else fail mt_tok_bpe_roundtrip "$(diff "$T/five.txt" "$T/five.out" | head -n 3 | cut -c1-200)"; fi
fi

# broken directories
X=$T/bad
mkdir -p "$X"
cp "$D/source.spm" "$X/"
expect_error mt_tok_no_target 'target.spm: missing' "$G" tokenize --model "$X" "$T/few.txt"
cp "$D/target.spm" "$X/"
printf '{"a": 1, "b": 1, "<unk>": 2}' >"$X/vocab.json"
expect_error mt_tok_dup_id 'vocab.json: id 1 is given to both' "$G" tokenize --model "$X" "$T/few.txt"
printf '{"a": -3}' >"$X/vocab.json"
expect_error mt_tok_bad_id 'vocab.json: "a": the id must be an integer' "$G" tokenize --model "$X" "$T/few.txt"
printf '[1, 2]' >"$X/vocab.json"
expect_error mt_tok_not_object 'vocab.json: expected a non-empty object' "$G" tokenize --model "$X" "$T/few.txt"
printf '{"<unk>": 0, "<pad>": 1' >"$X/vocab.json"
expect_error mt_tok_bad_json 'vocab.json: malformed JSON' "$G" tokenize --model "$X" "$T/few.txt"
printf '{"<unk>": 0, "<pad>": 1}' >"$X/vocab.json"
expect_error mt_tok_no_eos 'the eos token "</s>" is not in the vocabulary' "$G" tokenize --model "$X" "$T/few.txt"
printf '0 5 99999\n' >"$T/oor.ids"
expect_error mt_tok_decode_range 'id 99999 at position 2 is out of range' "$G" detokenize --model "$D" "$T/oor.ids"
rm -rf "$T"
