#!/usr/bin/env bash
# t_bad_data.sh: malformed outside data (issue 10): each gives one clear error naming the
# file, without a leak or a sanitizer report: classification JSONL rows, token shards
# with ids outside their vocabulary, adapter_config.json values out of range, a
# config.json whose vocab_size disagrees with the weights (refused before the memory is
# allocated), and a vocabulary trained on one long run of a byte (loadable).
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC; [ -x "$GPTC_ASAN" ] && G=$GPTC_ASAN

"$GPTC" init --out "$T/m" --preset tiny --vocab-size 300 --seed 1 >/dev/null
# ---- classification JSONL: every malformed row is an error naming file:line, no leak
"$GPTC" init --out "$T/base" --preset tiny --seed 5 >/dev/null 2>&1
i=0
for row in '{"text": 5, "label": "a"}' '[1, 2]' '{"text": "x", "label": [1]}' '{"text": "x"}' '{"text": "  ", "label": "a"}' \
           '{"text": "x", "label": "a"' ; do
    i=$((i + 1))
    printf '{"text": "good", "label": "a"}\n%s\n' "$row" >"$T/bad$i.jsonl"
    expect_error "classification JSONL, bad row $i: file:line, no leak" "bad$i\.jsonl:2: " \
        "$G" finetune --task classify --model "$T/base" --train "$T/bad$i.jsonl" --out "$T/ft$i" --max-steps 1
done

# ---- a token shard with an id outside the vocabulary its header gives
$PY -c "import random; r=random.Random(1); print(' '.join(str(r.randrange(300)) for _ in range(2000)))" >"$T/ids.txt"
"$GPTC" prepare --tokens "$T/ids.txt" --vocab-size 300 --out "$T/data" >/dev/null 2>&1
$PY - "$T/data/train.bin" <<'PY'
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read())
width = struct.unpack_from("<I", b, 12)[0]
struct.pack_into("<H" if width == 2 else "<I", b, 64 + 5 * width, 4000)
open(p, "wb").write(b)
PY
expect_error "shard id outside its vocabulary names the file and the position" \
    "train\.bin: token 5 has id 4000, outside the vocabulary of 300" \
    "$G" train --data "$T/data" --init "$T/m" --out "$T/run" --max-steps 1 --batch-size 2 --seq-len 8
# ---- adapter_config.json out of range: the file is named
for bad in '"r": 0, "lora_alpha": 8' '"r": 99999, "lora_alpha": 8' '"r": 4, "lora_alpha": -1' \
           '"r": 4, "lora_alpha": 8, "lora_dropout": 2' '"r": 4, "lora_alpha": 8, "target_modules": ["nothing"]'; do
    rm -rf "$T/ad"; cp -r "$T/m" "$T/ad"
    echo "{\"peft_type\": \"LORA\", $bad}" >"$T/ad/adapter_config.json"
    expect_error "adapter_config.json {$bad}: names the file" "adapter_config\.json: " "$G" info --model "$T/ad"
done
# ---- config.json vocab_size against the weights, before allocating for it
rm -rf "$T/big"; cp -r "$T/m" "$T/big"
$PY -c "import json,sys; p=sys.argv[1]; c=json.load(open(p)); c['vocab_size']=16777216; json.dump(c, open(p,'w'))" "$T/big/config.json"
(ulimit -v 1000000; "$GPTC" info --model "$T/big") >/dev/null 2>"$T/err"; rc=$?
[ $rc = 1 ] && grep -q "model.safetensors: tensor 'transformer.wte.weight' has shape \[300, " "$T/err" &&
    pass "config vocab_size 16777216 against a 300-token file: shape error within 1 GB" ||
    fail "config vocab_size 16777216 against a 300-token file: shape error within 1 GB" "rc $rc: $(head -c 300 "$T/err")"
# ---- a vocabulary trained on one long run of a byte loads again
$PY -c "print('a' * 300000)" >"$T/a.txt"
"$G" tokenizer-train --input "$T/a.txt" --vocab-size 300 --out "$T/tok_a" >/dev/null 2>"$T/err" &&
    echo hello | "$G" tokenize --tokenizer "$T/tok_a" >"$T/out" 2>"$T/err" && [ -s "$T/out" ] &&
    pass "tokenizer-train on 300,000 'a': the vocabulary loads" ||
    fail "tokenizer-train on 300,000 'a': the vocabulary loads" "$(head -c 300 "$T/err")"
