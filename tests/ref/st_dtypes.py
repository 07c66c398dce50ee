#!/usr/bin/python3
"""st_dtypes.py: reference safetensors files written by PyTorch for tests/test_safetensors.c.
The safetensors package is not installed, so a small writer below follows the format:
8-byte little-endian header length, JSON header padded with spaces to 8 bytes, raw data.

usage: st_dtypes.py dtypes OUT.safetensors
       st_dtypes.py model DIR {prefix|plain} {f32|f16|bf16} SEED REF.safetensors
"""
import json
import struct
import sys

import torch

DT = {torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16", torch.uint8: "U8",
      torch.bool: "BOOL", torch.int64: "I64"}


def save_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, torch tensor) in file order."""
    header, blobs, off = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors:
        t = t.contiguous()
        flat = t.reshape(-1)
        # viewed as bytes: the little-endian in-memory layout of this machine
        raw = (flat.to(torch.uint8) if t.dtype == torch.bool else flat.view(torch.uint8)).numpy().tobytes()
        header[name] = {"dtype": DT[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def dtypes(out):
    g = torch.Generator().manual_seed(1234)
    allbits = torch.arange(65536, dtype=torch.int32).to(torch.int16)
    f16_all = allbits.view(torch.float16)
    bf16_all = allbits.view(torch.bfloat16)
    # F32 inputs for rounding: random magnitudes over the whole range, ties, edges
    x = torch.randn(10007, generator=g) * torch.exp2(torch.randint(-30, 20, (10007,), generator=g).float())
    edges = [0.0, -0.0, 1.0, -1.0, 65504.0, 65519.99, 65520.0, 1e30, -1e30, 3.4e38, float("inf"),
             float("-inf"), float("nan"), 2.0 ** -14, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25, 2.0 ** -26,
             6.1e-5, 5.96e-8, 1e-45, 1.17549435e-38, 1.0 + 2.0 ** -8, 1.0 + 3 * 2.0 ** -8,
             1.0 + 2.0 ** -11, 1.0 + 3 * 2.0 ** -11, 3.0 * 2.0 ** -25]
    ties_bits = torch.randint(0, 2 ** 31 - 1, (4001,), generator=g, dtype=torch.int64)
    # force exact bf16 and f16 ties: low 16 bits 0x8000, and low 13 bits 0x1000
    ties_bf = ((ties_bits & ~0xFFFF) | 0x8000).to(torch.int32).view(torch.float32)
    ties_h = ((ties_bits & ~0x1FFF) | 0x1000).to(torch.int32).view(torch.float32)
    x = torch.cat([x, torch.tensor(edges), -torch.tensor(edges), ties_bf, ties_h])
    save_safetensors(out, [
        ("f16_all", f16_all), ("f16_all_ref", f16_all.float()),
        ("bf16_all", bf16_all), ("bf16_all_ref", bf16_all.float()),
        ("x", x), ("x_f16", x.half()), ("x_bf16", x.bfloat16()),
    ], {"format": "pt"})


def model(d, naming, dtype, seed, ref):
    """A GPT-2 directory as transformers would write it (or as the converted Hub
    checkpoints are: names without prefix, mask buffers), values from torch."""
    L, H, C, P, V = 2, 3, 36, 19, 101
    cfg = {"activation_function": "gelu_new", "architectures": ["GPT2LMHeadModel"], "attn_pdrop": 0.1,
           "bos_token_id": 100, "embd_pdrop": 0.1, "eos_token_id": 100, "initializer_range": 0.02,
           "layer_norm_epsilon": 1e-05, "model_type": "gpt2", "n_ctx": P, "n_embd": C, "n_head": H,
           "n_inner": None, "n_layer": L, "n_positions": P, "resid_pdrop": 0.1, "vocab_size": V,
           "summary_type": "cls_index", "task_specific_params": {"text-generation": {"do_sample": True}}}
    with open(d + "/config.json", "w") as f:
        json.dump(cfg, f, indent=2)
    g = torch.Generator().manual_seed(seed)
    names = [("wte.weight", (V, C)), ("wpe.weight", (P, C))]
    for l in range(L):
        h = "h.%d." % l
        names += [(h + "ln_1.weight", (C,)), (h + "ln_1.bias", (C,)), (h + "attn.c_attn.weight", (C, 3 * C)),
                  (h + "attn.c_attn.bias", (3 * C,)), (h + "attn.c_proj.weight", (C, C)),
                  (h + "attn.c_proj.bias", (C,)), (h + "ln_2.weight", (C,)), (h + "ln_2.bias", (C,)),
                  (h + "mlp.c_fc.weight", (C, 4 * C)), (h + "mlp.c_fc.bias", (4 * C,)),
                  (h + "mlp.c_proj.weight", (4 * C, C)), (h + "mlp.c_proj.bias", (C,))]
    names += [("ln_f.weight", (C,)), ("ln_f.bias", (C,))]
    cast = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[dtype]
    pre = "transformer." if naming == "prefix" else ""
    out, refs = [], []
    for n, shape in reversed(names):  # file order need not be table order
        t = (torch.randn(*shape, generator=g) * 0.5).to(cast)
        out.append((pre + n, t))
        refs.append((n, t.float()))
    for l in range(L):  # buffers of old checkpoints: accepted and ignored
        mask = torch.tril(torch.ones(P, P, dtype=torch.uint8)).view(1, 1, P, P)
        out.append((pre + "h.%d.attn.bias" % l, mask if l == 0 else mask.bool()))
        out.append((pre + "h.%d.attn.masked_bias" % l, torch.tensor(-1e4)))
    if naming == "prefix":  # a tied head saved anyway: same shape, ignored
        out.append(("lm_head.weight", torch.zeros(V, C).to(cast)))
    save_safetensors(d + "/model.safetensors", out, {"format": "pt"})
    save_safetensors(ref, refs)


if __name__ == "__main__":
    if sys.argv[1] == "dtypes":
        dtypes(sys.argv[2])
    elif sys.argv[1] == "model":
        model(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6])
    else:
        sys.exit(__doc__)
