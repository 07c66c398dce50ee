#!/usr/bin/env bash
# t_tokenizer_hf.sh: the tokenizer.json + tokenizer_config.json that gptc writes, loaded
# by npm's @huggingface/tokenizers, give gptc's ids on mixed text (English, Korean,
# Chinese, code, emoji; special tokens in the text, more of them in a second text) for a trained
# vocabulary with ChatML markers, GPT-2's (gptc init) and a vocabulary without specials;
# the chat_template rendered by npm's @huggingface/jinja and tokenized there gives the
# ids of `gptc tokenize --chat`, with and without the generation
# prompt; all of a directory's files load in gptc to the same ids.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
export GPTC_DATA_DIR=${GPTC_DATA_DIR:-$ROOT/build/share/gptc}
if ! command -v node >/dev/null || [ ! -d "$NODE_PATH/@huggingface/tokenizers" ] || [ ! -d "$NODE_PATH/@huggingface/jinja" ]; then
    fail hf_available "node + npm @huggingface/tokenizers, @huggingface/jinja missing: run \`sh scripts/deps.sh test\`"
    exit 1
fi
SEED=${GPTC_TOK_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "seed $SEED (rerun with GPTC_TOK_SEED=$SEED)"
/usr/bin/python3 "$ROOT/tests/tok/assigned.py" >"$T/assigned.json"
node "$ROOT/tests/tok/gen.js" "$SEED" 600000 "$T/gen.txt" "$T/assigned.json" || fail gen "generator failed"
# Without U+0085 and U+FEFF: JavaScript's \s (which tokenizers.js's regex uses) counts
# U+FEFF and not U+0085, unlike Unicode's White_Space (tiktoken, Rust's tokenizers, gptc).
iconv -f UTF-8 -t UTF-8 -c "$T/gen.txt" | LC_ALL=C sed 's/\xc2\x85//g; s/\xef\xbb\xbf//g' >"$T/mix.txt"
# the same text with special tokens between paragraphs (Hugging Face always splits them out).
# Chat contents hold no marker text: Hugging Face's template would make it a marker, gptc
# never does (a user cannot inject one).
/usr/bin/python3 - "$T/mix.txt" "$T/mix_sp.txt" <<'PYEOF'
import sys
t = open(sys.argv[1], encoding="utf-8").read()
sp = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|im_start|>user\n"]
parts = t.split("\n")
open(sys.argv[2], "w", encoding="utf-8").write("".join(p + ("\n" if i % 3 else sp[i % 4]) for i, p in enumerate(parts)))
PYEOF
cat >"$T/chat.jsonl" <<'JEOF'
{"messages": [{"role": "system", "content": "You are a helpful assistant."}, {"role": "user", "content": "안녕하세요! What's 2+2?"}, {"role": "assistant", "content": "  It's 4.\n\n"}]}
{"messages": [{"role": "user", "content": "code:\n    def f(x):\n        return x  "}, {"role": "assistant", "content": " 😀 ok. "}]}
{"messages": [{"role": "user", "content": "한국어로 대답해 주세요."}, {"role": "assistant", "content": "네, 알겠습니다.\t"}, {"role": "user", "content": "中文 too\n\n"}, {"role": "assistant", "content": ""}]}
JEOF

"$GPTC" tokenizer-train --input "$T/mix.txt" --vocab-size 3000 --out "$T/chat" >/dev/null || fail train "tokenizer-train failed"
"$GPTC" tokenizer-train --input "$T/mix.txt" --vocab-size 1500 --no-default-special --out "$T/plain" >/dev/null ||
    fail train "tokenizer-train failed"
"$GPTC" init --preset tiny --out "$T/gpt2" >/dev/null || fail init "gptc init failed"

for d in chat plain gpt2; do
    D=$T/$d
    check "files_$d" test -s "$D/tokenizer.json" -a -s "$D/tokenizer_config.json" -a -s "$D/vocab.json"
    for k in mix mix_sp; do
        node "$ROOT/tests/tok/hf_tokenizers.mjs" "$D" "$T/$k.txt" "$T/hf.$d.$k" || fail "hf_$d" "node failed"
        "$GPTC" tokenize --allow-special --model "$D" "$T/$k.txt" >"$T/g.$d.$k"
        n=$(wc -w <"$T/hf.$d.$k")
        cmp -s "$T/g.$d.$k" "$T/hf.$d.$k" && pass "hf_tokenizers_${d}_$k ($n ids)" ||
            fail "hf_tokenizers_${d}_$k" "ids differ from @huggingface/tokenizers ($n ids)"
        # gptc reads tokenizer.json alone to the same ids
        "$GPTC" tokenize --allow-special --tokenizer "$D/tokenizer.json" "$T/$k.txt" | cmp -s - "$T/g.$d.$k" &&
            pass "tokenizer_json_same_as_vocab_json_${d}_$k" || fail "tokenizer_json_same_as_vocab_json_${d}_$k" "ids differ"
    done
done
$PY - "$T" <<'PYEOF' && pass tokenizer_config_fields || fail tokenizer_config_fields "fields missing or wrong"
import json, sys
t = sys.argv[1]
c = json.load(open(t + "/chat/tokenizer_config.json"))
j = json.load(open(t + "/chat/tokenizer.json"))
v = json.load(open(t + "/chat/vocab.json"))
ok = c["tokenizer_class"] == "GPT2Tokenizer" and c["eos_token"] == "<|endoftext|>" and "chat_template" in c
ok &= {int(k): e["content"] for k, e in c["added_tokens_decoder"].items()} == {e["id"]: e["content"] for e in j["added_tokens"]}
ok &= all(v[e["content"]] == e["id"] and e["special"] for e in j["added_tokens"])
ok &= j["model"]["vocab"] == v and len(j["added_tokens"]) == 3
p = json.load(open(t + "/plain/tokenizer_config.json"))
ok &= "chat_template" not in p and p["eos_token"] is None and p["added_tokens_decoder"] == {}
g = json.load(open(t + "/gpt2/tokenizer_config.json"))
ok &= g["added_tokens_decoder"]["50256"]["content"] == "<|endoftext|>" and "chat_template" not in g
sys.exit(0 if ok else 1)
PYEOF

# chat_template (jinja) + @huggingface/tokenizers == gptc's ChatML ids
node "$ROOT/tests/tok/hf_tokenizers.mjs" "$T/chat" "$T/mix.txt" "$T/unused" "$T/chat.jsonl" "$T/hfchat" || fail chat_template "node failed"
"$GPTC" tokenize --model "$T/chat" --chat "$T/chat.jsonl" >"$T/gc0" &&
    "$GPTC" tokenize --model "$T/chat" --chat "$T/chat.jsonl" --add-generation-prompt >"$T/gc1" ||
    fail chat_ids "gptc tokenize --chat failed"
paste -d '\n' "$T/gc0" "$T/gc1" | cmp -s - "$T/hfchat" && pass "chat_template_jinja_same_ids ($(wc -l <"$T/hfchat") renderings)" ||
    fail chat_template_jinja_same_ids "gptc's ChatML ids differ from the rendered chat_template's: $(diff <(paste -d '\n' "$T/gc0" "$T/gc1") "$T/hfchat" | head -4)"
"$GPTC" tokenize --model "$T/chat" --chat "$T/chat.jsonl" --json | $PY -c '
import json, sys
rows = [json.loads(l) for l in sys.stdin]
ids = [list(map(int, l.split())) for l in open(sys.argv[1])]
sys.exit(0 if [r["ids"] for r in rows] == ids and all(r["count"] == len(r["ids"]) for r in rows) else 1)' "$T/gc0" &&
    pass tokenize_chat_json || fail tokenize_chat_json "--json rows differ from the plain ones"
# a chat_template gptc does not render is refused, naming the file
cp -r "$T/chat" "$T/chat2"
$PY - "$T/chat2/tokenizer_config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1])); c["chat_template"] = "{{ messages[0]['content'] }}"
json.dump(c, open(sys.argv[1], "w"))
PYEOF
expect_error tokenize_chat_other_template 'chat2/tokenizer_config.json: chat_template is not the ChatML template' \
    "$GPTC" tokenize --model "$T/chat2" --chat "$T/chat.jsonl"
printf '{"messages": [{"role": "user"}]}\n' >"$T/bad.jsonl"
expect_error tokenize_chat_bad_line 'bad.jsonl:1: messages\[0\] needs "role" and "content"' \
    "$GPTC" tokenize --model "$T/chat" --chat "$T/bad.jsonl"
