#!/usr/bin/env bash
# t_model_io.sh: `gptc init` and `gptc info`: model directories in Hugging Face's layout
# (names, shapes, metadata, config.json fields checked by Python), the initialization
# statistics, refusal to overwrite, and broken model directories (each: one error line
# naming the file and the tensor or field, non-zero exit, no sanitizer report).
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
[ -x "$G" ] || G=$GPTC

# ---- init: a tiny GPT-2 with the tokenizer (when the encoding data is installed)
"$G" init --out "$T/tiny" --preset tiny --seed 5 >"$T/init.out" 2>"$T/init.err"
check init_tiny_ok test $? = 0
check init_prints_summary grep -q "parameters: " "$T/init.out"
if [ -f "$T/tiny/vocab.json" ]; then
    check init_writes_tokenizer test -s "$T/tiny/merges.txt"
else
    check init_warns_without_encodings grep -q "warning: GPT-2 tokenizer" "$T/init.err"
fi
expect_error init_refuses_existing "already holds a model.*--force" "$G" init --out "$T/tiny" --preset tiny
check init_force_overwrites "$G" init --out "$T/tiny" --preset tiny --seed 6 --force --no-tokenizer >"$T/out"
expect_error init_unknown_preset "unknown preset 'huge'" "$G" init --out "$T/x" --preset huge
expect_error init_not_divisible "n_embd = 50.*n_head = 3" "$G" init --out "$T/x" --preset tiny --n-embd 50 --n-head 3
expect_error init_bad_activation "activation_function 'relu'" "$G" init --out "$T/x" --preset tiny --activation-function relu
expect_error init_bad_dtype "expected f32 or bf16" "$G" init --out "$T/x" --preset tiny --dtype f16
check init_failures_write_nothing test ! -e "$T/x/config.json"

# ---- an odd-sized model: every config field, names, shapes and initialization in Python
L=3 H=3 C=48 P=37 V=1001 I=100
"$G" init --out "$T/odd" --n-layer $L --n-head $H --n-embd $C --n-positions $P --vocab-size $V --n-inner $I \
    --dropout 0.05 --layer-norm-epsilon 1e-6 --activation-function gelu_pytorch_tanh --seed 11 >/dev/null 2>"$T/err"
check init_odd_ok test $? = 0
"$G" info --model "$T/odd" --json --batch-size 3 --seq-len 17 >"$T/info.json" 2>"$T/err"
check info_json_ok test $? = 0
$PY - "$T/odd" "$T/info.json" $L $H $C $P $V $I <<'EOF' >"$T/py.out" 2>&1
import json, struct, sys, torch
d, info, L, H, C, P, V, I = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:])
def check(name, ok, why=""):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
cfg = json.load(open(d + "/config.json"))
want = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_layer": L, "n_head": H, "n_embd": C,
        "n_positions": P, "n_ctx": P, "vocab_size": V, "n_inner": I, "layer_norm_epsilon": 1e-6,
        "activation_function": "gelu_new", "resid_pdrop": 0.05, "embd_pdrop": 0.05, "attn_pdrop": 0.05,
        "bos_token_id": None, "eos_token_id": None, "initializer_range": 0.02, "tie_word_embeddings": True,
        "scale_attn_weights": True, "use_cache": True, "scale_attn_by_inverse_layer_idx": False,
        "reorder_and_upcast_attn": False}
bad = {k: (cfg.get(k, "MISSING"), v) for k, v in want.items() if cfg.get(k, "MISSING") != v}
check("config_json_gpt2config_fields", not bad, bad)
raw = open(d + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
check("header_aligned_8", n % 8 == 0 and raw[8:8 + n].rstrip(b" ").endswith(b"}"), n)
check("metadata_format_pt", hdr.pop("__metadata__", {}).get("format") == "pt", "no {'format': 'pt'}")
# GPT2LMHeadModel.state_dict() names as save_pretrained writes them (tied lm_head dropped)
exp = {"transformer.wte.weight": [V, C], "transformer.wpe.weight": [P, C],
       "transformer.ln_f.weight": [C], "transformer.ln_f.bias": [C]}
for l in range(L):
    h = "transformer.h.%d." % l
    exp.update({h + "ln_1.weight": [C], h + "ln_1.bias": [C], h + "attn.c_attn.weight": [C, 3 * C],
                h + "attn.c_attn.bias": [3 * C], h + "attn.c_proj.weight": [C, C], h + "attn.c_proj.bias": [C],
                h + "ln_2.weight": [C], h + "ln_2.bias": [C], h + "mlp.c_fc.weight": [C, I],
                h + "mlp.c_fc.bias": [I], h + "mlp.c_proj.weight": [I, C], h + "mlp.c_proj.bias": [C]})
got = {k: v["shape"] for k, v in hdr.items()}
check("tensor_names_and_shapes_as_hf", got == exp, set(got.items() ^ exp.items()) if isinstance(got, dict) else got)
check("dtype_f32", all(v["dtype"] == "F32" for v in hdr.values()), "not all F32")
ends = sorted(tuple(v["data_offsets"]) for v in hdr.values())
check("offsets_contiguous", ends[0][0] == 0 and all(a[1] == b[0] for a, b in zip(ends, ends[1:]))
      and ends[-1][1] == len(raw) - 8 - n, "gaps or overlap")
def t(name):
    b, e = hdr[name]["data_offsets"]
    return torch.frombuffer(bytearray(raw[8 + n + b:8 + n + e]), dtype=torch.float32).reshape(hdr[name]["shape"])
w = torch.cat([t("transformer.wte.weight").flatten(), t("transformer.h.0.attn.c_attn.weight").flatten()])
check("init_std_0.02", abs(w.std().item() - 0.02) < 0.0015 and abs(w.mean().item()) < 0.002, w.std().item())
pr = torch.cat([t("transformer.h.%d.mlp.c_proj.weight" % l).flatten() for l in range(L)])
want_std = 0.02 / (2 * L) ** 0.5
check("init_residual_proj_scaled", abs(pr.std().item() - want_std) < 0.1 * want_std, pr.std().item())
check("init_biases_zero", all(t(k).abs().max().item() == 0 for k in exp if k.endswith("bias")), "non-zero bias")
check("init_ln_weight_one", all((t(k) == 1).all().item() for k in exp if "ln_" in k and k.endswith("weight")), "ln != 1")
j = json.load(open(info))
p = j["params"]
layer = 2 * C + C * 3 * C + 3 * C + C * C + C + 2 * C + C * I + I + I * C + C
check("info_param_counts", p["total"] == V * C + P * C + L * layer + 2 * C and p["embedding"] == V * C + P * C
      and p["head"] == 0 and p["embedding"] + p["attention"] + p["mlp"] + p["layernorm"] == p["total"], p)
m = j["memory"]
check("info_memory", m["weights"] == 4 * p["total"] and m["adamw"] == 8 * p["total"] and m["batch_size"] == 3
      and m["seq_len"] == 17 and m["activations"] > 0, m)
check("info_backend", isinstance(j["backend"], str) and len(j["backend"]) > 0, j.get("backend"))
EOF
cat "$T/py.out"
grep -q '^PASS config_json_gpt2config_fields' "$T/py.out" || fail python_checks_ran "$(tail -3 "$T/py.out")"

"$G" info --model "$T/odd" >"$T/info.txt" 2>"$T/err"
check info_text_ok grep -q "compute kernel: " "$T/info.txt"
check info_text_counts grep -q "total" "$T/info.txt"
expect_error info_seq_len_too_long "seq-len" "$G" info --model "$T/odd" --seq-len 38
"$G" init --out "$T/bf" --preset tiny --dtype bf16 --no-tokenizer --seed 3 >/dev/null 2>&1
check init_bf16_header $PY -c "import json,struct,sys;r=open('$T/bf/model.safetensors','rb').read();n=struct.unpack('<Q',r[:8])[0];h=json.loads(r[8:8+n]);h.pop('__metadata__');sys.exit(0 if all(v['dtype']=='BF16' for v in h.values()) else 1)"
check info_reads_bf16 "$G" info --model "$T/bf" >"$T/out"

# ---- broken model directories, derived from the valid one by Python
mk() { # mk NAME KIND: a copy of $T/odd with one thing broken
    rm -rf "$T/$1"; cp -r "$T/odd" "$T/$1"
    $PY - "$T/$1" "$2" <<'EOF'
import json, struct, sys, os
d, kind = sys.argv[1], sys.argv[2]
st, cj = d + "/model.safetensors", d + "/config.json"
raw = open(st, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr, data = json.loads(raw[8:8 + n]), raw[8 + n:]
def write(h, data=data, hlen=None):
    b = json.dumps(h).encode()
    open(st, "wb").write(struct.pack("<Q", len(b) if hlen is None else hlen) + b + data)
q = "transformer.h.1.attn.c_attn.weight"
if kind == "truncated": open(st, "wb").write(raw[:len(raw) // 2])
elif kind == "short": open(st, "wb").write(raw[:5])
elif kind == "json": open(st, "wb").write(struct.pack("<Q", n) + b"{\"a\": [1, 2" + b" " * (n - 11) + data)
elif kind == "hlen": write(hdr, hlen=len(raw) * 2)
elif kind == "overlap":
    hdr[q]["data_offsets"] = [hdr[q]["data_offsets"][0] - 8, hdr[q]["data_offsets"][1] - 8]; write(hdr)
elif kind == "range":
    b, e = hdr[q]["data_offsets"]; hdr[q]["data_offsets"] = [len(data) - (e - b) + 4, len(data) + 4]; write(hdr)
elif kind == "dtype": hdr[q]["dtype"] = "I64"; write(hdr)
elif kind == "bytes": hdr[q]["dtype"] = "F16"; write(hdr)
elif kind == "shape":
    hdr[q]["shape"] = [hdr[q]["shape"][1], hdr[q]["shape"][0]]; write(hdr)
elif kind == "missing": del hdr[q]; write(hdr)
elif kind == "extra":
    hdr["transformer.h.7.mlp.c_fc.bias"] = {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]}; write(hdr)
elif kind == "cfg_json": open(cj, "w").write('{\n  "n_layer": 3,\n  "n_head": 3\n  "n_embd": 48\n}')
elif kind == "cfg_div":
    c = json.load(open(cj)); c["n_head"] = 5; json.dump(c, open(cj, "w"))
elif kind == "cfg_missing_field":
    c = json.load(open(cj)); del c["n_embd"]; json.dump(c, open(cj, "w"))
elif kind == "cfg_type":
    c = json.load(open(cj)); c["vocab_size"] = "1001"; json.dump(c, open(cj, "w"))
elif kind == "no_config": os.remove(cj)
elif kind == "no_weights": os.remove(st)
elif kind == "nan":
    b = hdr[q]["data_offsets"][0] + 4 * 3
    write(hdr, data=data[:b] + struct.pack("<f", float("nan")) + data[b + 4:])
EOF
}
ST='model\.safetensors'
Q="'transformer\.h\.1\.attn\.c_attn\.weight'"
cases=(
    "broken_truncated|truncated|$ST: .*outside the data section|"
    "broken_short_file|short|$ST: 5 bytes, too short"
    "broken_header_json|json|$ST: header JSON invalid at line 1"
    "broken_header_length|hlen|$ST: header length [0-9]+ past end of file"
    "broken_overlap|overlap|$ST: tensor .* overlaps tensor"
    "broken_offsets_out_of_range|range|$ST: tensor $Q: data_offsets .* outside the data section"
    "broken_unknown_dtype|dtype|$ST: tensor $Q: dtype I64 is not supported"
    "broken_dtype_size|bytes|$ST: tensor $Q: .*bytes in data_offsets but shape x F16 needs"
    "broken_shape|shape|$ST: tensor $Q has shape \[144, 48\], config.json expects \[48, 144\]"
    "broken_missing_tensor|missing|$ST: tensor 'h\.1\.attn\.c_attn\.weight' is missing"
    "broken_extra_tensor|extra|$ST: unexpected tensor 'transformer\.h\.7\.mlp\.c_fc\.bias'"
    "broken_config_json|cfg_json|config\.json: invalid JSON at line 4"
    "broken_config_divisible|cfg_div|config\.json: .*n_embd = 48 is not divisible by n_head = 5"
    "broken_config_missing_field|cfg_missing_field|config\.json: missing required field \"n_embd\""
    "broken_config_type|cfg_type|config\.json: field \"vocab_size\" must be an integer"
    "broken_no_config|no_config|config\.json: cannot open"
    "broken_no_weights|no_weights|$ST: cannot open"
    "broken_nan_weight|nan|$ST: tensor $Q holds a non-finite value \(NaN or Inf\) at element 3"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name kind pat _ <<<"$c"
    mk "$name" "$kind"
    expect_error "$name" "$pat" "$G" info --model "$T/$name"
    n=$(wc -l <"$T/err")
    [ "$n" = 1 ] || fail "${name}_one_line" "stderr has $n lines"
done
[ -n "$KEEP" ] || rm -rf "$T"
