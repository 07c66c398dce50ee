#!/usr/bin/env bash
# demo.sh: `make demo`: the main job on a built-in default. Creates a small GPT-2
# model, shows what it is and which compute kernel runs, tokenizes a real text with
# GPT-2's tokenizer and scores it (an untrained model scores near ln(vocab)).
# Leaves everything in demo-out/.
set -euo pipefail
cd "$(dirname "$0")/.."
G=build/gptc
OUT=${DEMO_OUT:-demo-out}
mkdir -p "$OUT"
TEXT=$OUT/text.txt
# A real, freely licensed text from the machine: the GPL (always on Debian), else README.
if [ -f /usr/share/common-licenses/GPL-3 ]; then cp /usr/share/common-licenses/GPL-3 "$TEXT"; else cp README.md "$TEXT"; fi
echo "== gptc init: a new 'small' GPT-2 (4 layers, 4 heads, 256 wide) in $OUT/model"
$G init --preset small --seed 1 --out "$OUT/model" --force
echo; echo "== gptc info"
$G info --model "$OUT/model" --batch-size 8 --seq-len 256
echo; echo "== gptc tokenize: $(wc -c < "$TEXT") bytes of $TEXT with the model's tokenizer"
$G tokenize --model "$OUT/model" "$TEXT" > "$OUT/ids.txt"
echo "$(wc -w < "$OUT/ids.txt") tokens; first ids: $(head -c 60 "$OUT/ids.txt")..."
echo; echo "== gptc eval: loss of the untrained model (ln(50257) = 10.82 is chance)"
$G eval --model "$OUT/model" --tokens "$OUT/ids.txt"
echo; echo "demo: model, token ids and text are in $OUT/"
