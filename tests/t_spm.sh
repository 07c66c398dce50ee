#!/usr/bin/env bash
# t_spm.sh: SentencePiece .model files against Debian's sentencepiece (spm_train,
# spm_encode, spm_decode 0.1.97). Models are trained in the test on ~800 KB of mixed
# text (tests/spm/gen_text.py, seed printed): unigram and BPE with the default nmt_nfkc
# normalization (with user-defined and control pieces), --byte_fallback, identity
# normalization, nmt_nfkc_cf without the dummy prefix and without removing extra
# whitespace, whitespace as suffix, and a denormalizer. For each, ~400 KB of other mixed
# text (unseen characters, invalid UTF-8, NUL, odd whitespace) is encoded line by line
# by spm_encode and gptc: ids and pieces must be identical; the ids are decoded by
# spm_decode and gptc (identical), and so are random id sequences (byte, control,
# unknown pieces among them). Every model's special ids (one with unk 2, no bos, eos 0,
# pad 1), piece texts, scores and types (tests/tool_spm_info.c) must equal what
# python3-sentencepiece reads. Then broken model files must fail with clear errors.
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
INFO=$ROOT/build/asan/tests/tool_spm_info
fresh build/asan/tests/tool_spm_info
if ! command -v spm_train >/dev/null || ! command -v spm_encode >/dev/null; then
    fail spm_reference "spm_train/spm_encode missing: sh scripts/deps.sh test installs Debian's sentencepiece"
    exit 1
fi
SEED=${SPM_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED"
$PY "$ROOT/tests/spm/gen_text.py" "$SEED" 800000 "$T/train.txt" train
$PY "$ROOT/tests/spm/gen_text.py" $((SEED + 1)) 400000 "$T/text.txt"
# a denormalization rule (code points in hex: source TAB target): "!" -> "!!", "?" -> "¿?"
printf '21\t21 21\n3F\tBF 3F\n' > "$T/denorm.tsv"

train() { # NAME spm_train options...
    local name=$1; shift
    if ! spm_train --input="$T/train.txt" --model_prefix="$T/$name" --num_threads=2 "$@" >"$T/$name.log" 2>&1; then
        fail "spm_train_$name" "$(tail -n 3 "$T/$name.log")"; return 1
    fi
}
info_same() { # NAME MODEL: special ids, piece texts, scores and types as python3-sentencepiece
    # reads them (it cannot tell USER_DEFINED from NORMAL: both print as 0)
    $PY "$ROOT/tests/spm/py_ref.py" "$2" - - >"$T/info.py" 2>"$T/err" || { fail "$1" "$(tail -n 2 "$T/err")"; return; }
    "$INFO" "$2" 2>"$T/err" | awk -F'\t' 'BEGIN { OFS = "\t" } NR > 1 && ($2 == 1 || $2 == 4) { $2 = 0 } { print }' >"$T/info.c"
    if cmp -s "$T/info.c" "$T/info.py"; then pass "$1 ($(head -n 1 "$T/info.c"))"
    else fail "$1" "$(diff "$T/info.py" "$T/info.c" | head -n 3) $(head -c 200 "$T/err")"; fi
}
compare() { # NAME: ids, pieces and decoding of the text, decoding of random ids
    local name=$1 m=$T/$1.model
    [ -f "$m" ] || return
    info_same "spm_info_$name" "$m"
    spm_encode --model="$m" --output_format=id <"$T/text.txt" >"$T/$name.ids.ref"
    spm_encode --model="$m" --output_format=piece <"$T/text.txt" >"$T/$name.pieces.ref"
    "$G" tokenize --tokenizer "$m" "$T/text.txt" >"$T/$name.ids" 2>"$T/err" || { fail "spm_ids_$name" "$(head -c 300 "$T/err")"; return; }
    "$G" tokenize --tokenizer "$m" --pieces "$T/text.txt" >"$T/$name.pieces" 2>"$T/err"
    local nl=$(wc -l <"$T/$name.ids.ref") nt=$(wc -w <"$T/$name.ids.ref")
    if cmp -s "$T/$name.ids" "$T/$name.ids.ref"; then pass "spm_ids_$name ($nl lines, $nt ids)"
    else fail "spm_ids_$name" "first difference: $(diff "$T/$name.ids.ref" "$T/$name.ids" | head -n 3 | cut -c1-300)"; fi
    if cmp -s "$T/$name.pieces" "$T/$name.pieces.ref"; then pass "spm_pieces_$name"
    else fail "spm_pieces_$name" "first difference: $(diff "$T/$name.pieces.ref" "$T/$name.pieces" | head -n 3 | cut -c1-300)"; fi
    spm_decode --model="$m" --input_format=id <"$T/$name.ids.ref" >"$T/$name.dec.ref"
    "$G" detokenize --tokenizer "$m" "$T/$name.ids.ref" >"$T/$name.dec" 2>"$T/err"
    if cmp -s "$T/$name.dec" "$T/$name.dec.ref"; then pass "spm_decode_$name"
    else fail "spm_decode_$name" "$(diff "$T/$name.dec.ref" "$T/$name.dec" | head -n 3 | cut -c1-300) $(head -c 200 "$T/err")"; fi
    # random ids: 600 lines of 0..40 ids, a third of them from the first 300 (control,
    # unknown, byte and user-defined pieces live there)
    local n=$(grep -c . "$T/$name.vocab")
    $PY - "$SEED" "$n" >"$T/$name.rand" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[1])); n = int(sys.argv[2])
for _ in range(600):
    print(" ".join(str(r.randrange(min(n, 300)) if r.random() < 0.33 else r.randrange(n))
                   for _ in range(r.randint(0, 40))))
EOF
    spm_decode --model="$m" --input_format=id <"$T/$name.rand" >"$T/$name.rdec.ref"
    "$G" detokenize --tokenizer "$m" "$T/$name.rand" >"$T/$name.rdec" 2>"$T/err"
    if cmp -s "$T/$name.rdec" "$T/$name.rdec.ref"; then pass "spm_decode_random_$name"
    else fail "spm_decode_random_$name" "$(diff "$T/$name.rdec.ref" "$T/$name.rdec" | head -n 3 | cut -c1-300)"; fi
}

U="--user_defined_symbols=<sep>,[MASK] --control_symbols=<ctl>"
train uni --model_type=unigram --vocab_size=3001 $U
train bpe --model_type=bpe --vocab_size=2003 $U
train uni_bytes --model_type=unigram --vocab_size=1501 --byte_fallback --character_coverage=0.98
train bpe_bytes --model_type=bpe --vocab_size=1499 --byte_fallback --character_coverage=0.98 $U
train uni_identity --model_type=unigram --vocab_size=1777 --normalization_rule_name=identity \
    --unk_id=2 --bos_id=-1 --eos_id=0 --pad_id=1 --pad_piece=[PAD]
train bpe_identity --model_type=bpe --vocab_size=1777 --normalization_rule_name=identity
train uni_cf_ws --model_type=unigram --vocab_size=2222 --normalization_rule_name=nmt_nfkc_cf \
    --add_dummy_prefix=false --remove_extra_whitespaces=false
train bpe_suffix --model_type=bpe --vocab_size=1999 --treat_whitespace_as_suffix=true
train uni_denorm --model_type=unigram --vocab_size=1603 --denormalization_rule_tsv="$T/denorm.tsv"
for m in uni bpe uni_bytes bpe_bytes uni_identity bpe_identity uni_cf_ws bpe_suffix uni_denorm; do compare $m; done

# models spm_train does not write (tests/spm/craft.py): UNUSED and USER_DEFINED pieces,
# negative scores, a custom unk surface, split messages, unknown fields; the reference
# is python3-sentencepiece (the same library) through tests/spm/py_ref.py
for mode in unused user negative fields; do
    for b in uni bpe; do
        m=$T/$b.$mode.model
        $PY "$ROOT/tests/spm/craft.py" $mode "$T/$b.model" "$m" || { fail "spm_craft_${b}_$mode" "craft.py failed"; continue; }
        info_same "spm_info_${b}_$mode" "$m"
        $PY "$ROOT/tests/spm/py_ref.py" "$m" "$T/text.txt" "$T/py" >/dev/null 2>"$T/err" ||
            { fail "spm_craft_${b}_$mode" "python3-sentencepiece: $(tail -n 2 "$T/err")"; continue; }
        "$G" tokenize --tokenizer "$m" "$T/text.txt" >"$T/c.ids" 2>"$T/err"
        "$G" tokenize --tokenizer "$m" --pieces "$T/text.txt" >"$T/c.pieces" 2>>"$T/err"
        "$G" detokenize --tokenizer "$m" "$T/c.ids" >"$T/c.dec" 2>>"$T/err"
        bad=""
        for k in ids pieces dec; do cmp -s "$T/c.$k" "$T/py.$k" || bad="$bad $k"; done
        if [ -z "$bad" ]; then pass "spm_craft_${b}_$mode"
        else fail "spm_craft_${b}_$mode" "differs in$bad: $(diff "$T/py.ids" "$T/c.ids" | head -n 3 | cut -c1-200) $(head -c 300 "$T/err")"; fi
    done
done

# JSON output carries ids and pieces
printf 'Hello  ＷＯＲＬＤ 안녕\n' >"$T/one.txt"
"$G" tokenize --tokenizer "$T/uni.model" --json "$T/one.txt" >"$T/one.json"
if $PY -c "import json,sys; d=json.load(open(sys.argv[1])); ids=open(sys.argv[2]).read().split(); assert d['ids']==[int(x) for x in ids] and d['count']==len(ids) and len(d['pieces'])==len(ids), d" \
    "$T/one.json" <(spm_encode --model="$T/uni.model" --output_format=id <"$T/one.txt") 2>"$T/err"; then pass spm_json
else fail spm_json "$(cat "$T/one.json") $(tail -n 2 "$T/err")"; fi
"$G" tokenize --tokenizer "$T/uni.model" --count "$T/one.txt" >"$T/one.count"
check spm_count test "$(cat "$T/one.count")" = "$(spm_encode --model="$T/uni.model" --output_format=id <"$T/one.txt" | wc -w)"

# broken files
M=$T/uni.model
# cut one byte before the end of the top-level field that crosses byte 1000 (a cut at a
# fixed offset may fall between two pieces: a valid model with fewer pieces, for
# spm_encode too), so that field's length runs past the end of the file
$PY - "$M" "$T/trunc.model" <<'PYEOF'
import sys
d = open(sys.argv[1], "rb").read()
i = 0
while True:
    i += 1  # tag (pieces, trainer_spec, normalizer_spec: one byte each)
    n = sh = 0
    while True:
        b = d[i]; i += 1; n |= (b & 0x7F) << sh; sh += 7
        if b < 0x80: break
    if i + n > 1000: break
    i += n
open(sys.argv[2], "wb").write(d[:i + n - 1])
PYEOF
expect_error spm_truncated 'trunc.model: .*(past the end|truncated)' "$G" tokenize --tokenizer "$T/trunc.model" "$T/one.txt"
printf '\x0a\xff\xff\xff\xff\x0f' >"$T/huge.model"
expect_error spm_huge_length 'huge.model: pieces\[0\]: length 4294967295 at byte 1 past the end' "$G" tokenize --tokenizer "$T/huge.model" "$T/one.txt"
printf '\x08\x01' >"$T/wire.model"
expect_error spm_wrong_wire 'wire.model: pieces: wire type 0 \(varint\) at byte 0, expected 2' "$G" tokenize --tokenizer "$T/wire.model" "$T/one.txt"
: >"$T/empty.model"
expect_error spm_empty 'empty.model: unk is not defined' "$G" tokenize --tokenizer "$T/empty.model" "$T/one.txt"
expect_error spm_missing 'nope.model' "$G" tokenize --tokenizer "$T/nope.model" "$T/one.txt"
printf '1 2 999999\n' >"$T/bad.ids"
expect_error spm_bad_id 'bad.ids:1: sentencepiece: invalid id 999999 at position 2' "$G" detokenize --tokenizer "$M" "$T/bad.ids"
printf '1 2\n3 x\n' >"$T/bad2.ids"
expect_error spm_bad_id_text "bad2.ids:2: 'x' is not a token id" "$G" detokenize --tokenizer "$M" "$T/bad2.ids"
expect_error spm_no_chat 'SentencePiece model: --chat' "$G" tokenize --tokenizer "$M" --chat "$T/one.txt"
expect_error spm_no_threads 'SentencePiece model: --chat, --allow-special and --threads' "$G" tokenize --tokenizer "$M" --threads 2 "$T/one.txt"
expect_error spm_pieces_needs_spm 'pieces needs a SentencePiece model' "$G" tokenize --pieces "$T/one.txt"
rm -rf "$T"
