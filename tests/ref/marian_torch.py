# marian_torch.py: a plain PyTorch MarianMTModel (the math of transformers'
# modeling_marian written out: MarianSinusoidalPositionalEmbedding computed in float64 and
# rounded to float32 as numpy/FloatTensor do, embeddings through nn.Embedding's
# padding_idx (the pad row gets no gradient) times embed_scale, MarianAttention with q
# scaled by head_dim^-0.5 and the additive finfo.min masks (encoder padding, decoder
# causal, cross-attention over the encoder's padding), post-norm encoder and decoder
# layers, no final stack norm, lm_head tied to the decoder's input embedding unless
# tie_word_embeddings is false, final_logits_bias a buffer, CrossEntropyLoss with
# ignore_index=-100 and label_smoothing) built from a Hugging Face-layout directory, and
# the reference side of tests/t_marian_ref.sh (compares tests/tool_ref_driver --marian 1
# output). Run with /usr/bin/python3 (python3-torch). Subcommands: make-model, prepare
# (inputs + a clipping norm), check, names, decode (greedy reference for sessions).
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_torch import adamw_reference, add_run_parsers, check_start, check_tensors, check_train  # noqa: E402
from gpt2_torch import st_read  # noqa: E402
from st_dtypes import save_safetensors  # noqa: E402


def dims(cfg):
    return dict(C=cfg["d_model"], EL=cfg["encoder_layers"], DL=cfg["decoder_layers"], EH=cfg["encoder_attention_heads"],
                DH=cfg["decoder_attention_heads"], EF=cfg["encoder_ffn_dim"], DF=cfg["decoder_ffn_dim"],
                V=cfg["vocab_size"], P=cfg["max_position_embeddings"])


def shared(cfg):
    return cfg.get("share_encoder_decoder_embeddings", True)


def tied(cfg):
    return cfg.get("tie_word_embeddings", True)


def param_names(cfg):
    """gptc's table: MarianMTModel's parameters without "model." (positions are computed),
    the untied lm_head, final_logits_bias."""
    d = dims(cfg)
    n = ["shared.weight"] if shared(cfg) else ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"]
    att = lambda p: [p + s + "_proj." + k for s in "kvq" for k in ("weight", "bias")] + \
        [p + "out_proj." + k for k in ("weight", "bias")]  # noqa: E731
    ln = lambda p: [p + ".weight", p + ".bias"]  # noqa: E731
    for side, L in (("encoder", d["EL"]), ("decoder", d["DL"])):
        for l in range(L):
            p = "%s.layers.%d." % (side, l)
            n += att(p + "self_attn.") + ln(p + "self_attn_layer_norm")
            if side == "decoder":
                n += att(p + "encoder_attn.") + ln(p + "encoder_attn_layer_norm")
            n += ln(p + "fc1") + ln(p + "fc2") + ln(p + "final_layer_norm")
    if not tied(cfg):
        n.append("lm_head.weight")
    n.append("final_logits_bias")
    return n


def shape_of(cfg, n):
    d = dims(cfg)
    C, V = d["C"], d["V"]
    F_ = d["EF"] if n.startswith("encoder.") else d["DF"]
    if n.endswith("embed_tokens.weight") or n in ("shared.weight", "lm_head.weight"):
        return (V, C)
    if n == "final_logits_bias":
        return (1, V)
    if ".fc1." in n:
        return (F_, C) if n.endswith("weight") else (F_,)
    if ".fc2." in n:
        return (C, F_) if n.endswith("weight") else (C,)
    if n.endswith("_proj.weight"):
        return (C, C)
    return (C,)


def is_head(n):
    return n == "final_logits_bias" or n.startswith("lm_head.")


def file_name(n):
    return n if is_head(n) else "model." + n


def load_model_dir(d):
    """config + {table name: float32 array}: "model." stripped, a shared table read from
    model.shared or (its tied copy) model.encoder.embed_tokens; stored positions and tied
    copies dropped (as transformers ties them)."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    raw = st_read(os.path.join(d, "model.safetensors"))
    w = {}
    for k, v in raw.items():
        k = k[6:] if k.startswith("model.") else k
        w[k] = v.astype(np.float32)
    # a tied table under another of its names (as converters keep one of them)
    alts = {"shared.weight": ["encoder.embed_tokens.weight", "decoder.embed_tokens.weight"],
            "decoder.embed_tokens.weight": []}
    if tied(cfg):
        for v in alts.values():
            v.append("lm_head.weight")
    for k, names in alts.items():
        if k in param_names(cfg) and k not in w:
            w[k] = next(w[n] for n in names if n in w)
    names = set(param_names(cfg))
    return cfg, {k: v for k, v in w.items() if k in names}


def sinusoid(P, D):
    """MarianSinusoidalPositionalEmbedding._init_weight: float64 numpy, then FloatTensor."""
    pe = np.array([[pos / np.power(10000, 2 * (j // 2) / D) for j in range(D)] for pos in range(P)])
    out = np.empty((P, D))
    sentinel = D // 2 if D % 2 == 0 else D // 2 + 1
    out[:, 0:sentinel] = np.sin(pe[:, 0::2])
    out[:, sentinel:] = np.cos(pe[:, 1::2])
    return torch.tensor(out.astype(np.float32))


ACT = {"relu": F.relu, "swish": F.silu, "silu": F.silu, "gelu": F.gelu,
       "gelu_new": lambda x: F.gelu(x, approximate="tanh")}


def marian_forward(cfg, p, b, label_smoothing=0.0):
    """b: src (B, Te), src_mask (B, Te), dec (B, T) decoder input ids, labels (B, T).
    Returns (logits (B, T, V), loss)."""
    d = dims(cfg)
    C, V = d["C"], d["V"]
    pad = cfg.get("pad_token_id", V - 1)
    act = ACT[cfg.get("activation_function", "gelu")]
    scale = math.sqrt(C) if cfg.get("scale_embedding", False) else 1.0
    lin = lambda x, n: x @ p[n + ".weight"].t() + p[n + ".bias"]  # noqa: E731  nn.Linear
    ln = lambda x, n: F.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], 1e-5)  # noqa: E731
    src, dec = b["src"], b["dec"]
    B, Te = src.shape
    T = dec.shape[1]
    dt = p["final_logits_bias"].dtype
    pos = sinusoid(d["P"], C).to(dt)
    neg = torch.finfo(dt).min

    def attn(P, xq, xkv, NH, add):
        Tq, Tk, hs = xq.shape[1], xkv.shape[1], C // NH
        q = (lin(xq, P + "q_proj") * hs ** -0.5).view(B, Tq, NH, hs).transpose(1, 2)
        k = lin(xkv, P + "k_proj").view(B, Tk, NH, hs).transpose(1, 2)
        v = lin(xkv, P + "v_proj").view(B, Tk, NH, hs).transpose(1, 2)
        w = torch.softmax(q @ k.transpose(-1, -2) + add, dim=-1)
        return lin((w @ v).transpose(1, 2).reshape(B, Tq, C), P + "out_proj")

    enc_w = p["shared.weight"] if shared(cfg) else p["encoder.embed_tokens.weight"]
    dec_w = p["shared.weight"] if shared(cfg) else p["decoder.embed_tokens.weight"]
    # _prepare_4d_attention_mask: (1 - mask) * finfo.min on the keys
    key_add = (1.0 - b["src_mask"][:, None, None, :].to(dt)) * neg
    x = F.embedding(src, enc_w, padding_idx=pad) * scale + pos[:Te][None]
    for l in range(d["EL"]):
        P = "encoder.layers.%d." % l
        x = ln(x + attn(P + "self_attn.", x, x, d["EH"], key_add), P + "self_attn_layer_norm")
        x = ln(x + lin(act(lin(x, P + "fc1")), P + "fc2"), P + "final_layer_norm")
    enc = x
    causal = torch.triu(torch.full((T, T), neg, dtype=dt), 1)[None, None]
    h = F.embedding(dec, dec_w, padding_idx=pad) * scale + pos[:T][None]
    for l in range(d["DL"]):
        P = "decoder.layers.%d." % l
        h = ln(h + attn(P + "self_attn.", h, h, d["DH"], causal), P + "self_attn_layer_norm")
        h = ln(h + attn(P + "encoder_attn.", h, enc, d["DH"], key_add), P + "encoder_attn_layer_norm")
        h = ln(h + lin(act(lin(h, P + "fc1")), P + "fc2"), P + "final_layer_norm")
    head = dec_w if tied(cfg) else p["lm_head.weight"]
    logits = h @ head.t() + p["final_logits_bias"]
    loss = None
    if "labels" in b:
        loss = F.cross_entropy(logits.reshape(-1, V), b["labels"].reshape(-1), ignore_index=-100,
                               label_smoothing=label_smoothing)
    return logits, loss


# ---------------------------------------------------------------- test inputs
def cmd_make_model(a):
    """A random Marian directory: non-trivial biases, norms and final_logits_bias (an init
    would zero them and hide a forgotten one), in the dtype, sharing and tying asked for;
    optionally the sinusoidal tables and the tied copies stored too (as Hub files hold)."""
    rng = np.random.default_rng(a.seed)
    V = a.vocab
    cfg = {"model_type": "marian", "architectures": ["MarianMTModel"], "vocab_size": V, "d_model": a.d_model,
           "encoder_layers": a.enc_layers, "decoder_layers": a.dec_layers, "encoder_attention_heads": a.enc_heads,
           "decoder_attention_heads": a.dec_heads, "encoder_ffn_dim": a.enc_ffn, "decoder_ffn_dim": a.dec_ffn,
           "max_position_embeddings": a.positions, "activation_function": a.act, "dropout": 0.0,
           "attention_dropout": 0.0, "activation_dropout": 0.0, "scale_embedding": a.scale,
           "share_encoder_decoder_embeddings": not a.unshared, "tie_word_embeddings": not a.untied,
           "eos_token_id": 0}
    if a.pad is not None:
        cfg["pad_token_id"] = cfg["decoder_start_token_id"] = a.pad
    w = {}
    for n in param_names(cfg):
        sh = shape_of(cfg, n)
        if n.endswith("layer_norm.weight"):
            w[n] = 1 + rng.normal(0, 0.1, sh)
        elif n == "final_logits_bias":
            w[n] = rng.normal(0, 0.5, sh)
        elif n.endswith(".bias"):
            w[n] = rng.normal(0, 0.05, sh)
        elif len(sh) == 2 and ("embed" in n or n == "shared.weight"):
            w[n] = rng.normal(0, 0.3, sh)
        else:
            w[n] = rng.normal(0, 1.0 / math.sqrt(sh[1]), sh)
    dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[a.dtype]
    items = [(file_name(n), torch.tensor(v, dtype=torch.float32).to(dtype)) for n, v in w.items()]
    if a.store_as:
        # the tied table only under another of its names (model.shared when shared, else the
        # decoder's table), as a converter keeping one name of tied tensors writes it
        tab = "model.shared.weight" if not a.unshared else "model.decoder.embed_tokens.weight"
        items = [(a.store_as if n == tab else n, t) for n, t in items]
    if a.hub_layout:
        # what MarianMTModel.save_pretrained / the Hub's files may also hold: the tables and
        # the tied copies of the embedding
        pos = sinusoid(a.positions, a.d_model).to(dtype)
        items += [("model.encoder.embed_positions.weight", pos), ("model.decoder.embed_positions.weight", pos.clone())]
        if not a.unshared:
            e = torch.tensor(w["shared.weight"], dtype=torch.float32).to(dtype)
            items += [("model.encoder.embed_tokens.weight", e.clone()), ("model.decoder.embed_tokens.weight", e.clone())]
        if not a.untied:
            src = "shared.weight" if not a.unshared else "decoder.embed_tokens.weight"
            items.append(("lm_head.weight", torch.tensor(w[src], dtype=torch.float32).to(dtype)))
    os.makedirs(a.out, exist_ok=True)
    save_safetensors(os.path.join(a.out, "model.safetensors"), items, {"format": "pt"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)


def make_inputs(cfg, B, Te, T, n, seed):
    """n batches: sources of a random length >= 1 (row 0 full) ending in eos (0), padded
    with pad (mask 0); labels of a random length >= 1 (row 0 full), -100 after; decoder
    input = shift_tokens_right(labels): [decoder_start] + labels[:-1], -100 -> pad."""
    rng = np.random.default_rng(seed)
    V = cfg["vocab_size"]
    pad = cfg.get("pad_token_id", V - 1)
    start = cfg.get("decoder_start_token_id", pad)
    out = []
    for _ in range(n):
        src = rng.integers(1, V, (B, Te))
        sl = rng.integers(1, Te + 1, B)
        sl[0] = Te
        mask = (np.arange(Te)[None] < sl[:, None]).astype(np.int64)
        src[np.arange(B), sl - 1] = 0
        src[mask == 0] = pad
        labels = rng.integers(0, V, (B, T))
        tl = rng.integers(1, T + 1, B)
        tl[0] = T
        labels[np.arange(T)[None] >= tl[:, None]] = -100
        dec = np.concatenate([np.full((B, 1), start), labels[:, :-1]], 1)
        dec[dec == -100] = pad
        out.append({"src": src, "src_mask": mask, "dec": dec, "labels": labels})
    return out


def write_inputs(path, batches, B, Te, T):
    """little-endian int32: n, B, T, Te, then per batch src, src_mask (B*Te each), decoder
    input, labels (B*T each)."""
    parts = [np.array([len(batches), B, T, Te], dtype="<i4")]
    for b in batches:
        parts += [b["src"].ravel(), b["src_mask"].ravel(), b["dec"].ravel(), b["labels"].ravel()]
    np.concatenate([x.astype("<i4") for x in parts]).tofile(path)


def to_torch(b):
    return {k: torch.tensor(v, dtype=torch.int64) for k, v in b.items()}


def reference(cfg, weights, batches, steps, lr, wd, beta1, beta2, eps, clip, dtype, ls):
    """adamw_reference over the Marian forward; final_logits_bias a buffer (not trained)."""
    names = param_names(cfg)
    p = {k: torch.tensor(weights[k], dtype=dtype).requires_grad_(k != "final_logits_bias") for k in names}
    train = [n for n in names if n != "final_logits_bias"]
    return adamw_reference(lambda q, b: marian_forward(cfg, q, to_torch(b), ls) + (None,), p, train, batches, steps,
                           lr, wd, beta1, beta2, eps, clip)


def hp_of(a):
    return dict(steps=a.steps, lr=a.lr, wd=a.wd, beta1=a.beta1, beta2=a.beta2, eps=a.eps, clip=a.clip,
                ls=a.label_smoothing)


def cmd_prepare(a):
    """Writes the inputs file, prints a max_norm that some steps exceed and others not."""
    cfg, w = load_model_dir(a.model)
    batches = make_inputs(cfg, a.B, a.Te, a.T, 1 + 2 * a.steps, a.seed)
    write_inputs(a.inputs, batches, a.B, a.Te, a.T)
    hp = hp_of(a)
    hp["clip"] = 1e30
    r = reference(cfg, w, batches, dtype=torch.float32, **hp)
    print("%.6g" % float(np.median(r["norms"])))


def cmd_check(a):
    cfg, w = load_model_dir(a.model)
    batches = make_inputs(cfg, a.B, a.Te, a.T, 1 + 2 * a.steps, a.seed)
    d, names = a.driver_out, param_names(cfg)
    ck, ref, _ = check_start(a, w, names, lambda: reference(cfg, w, batches, dtype=torch.float64, **hp_of(a)))
    grads = st_read(os.path.join(d, "grads.safetensors"))
    train = [n for n in names if n != "final_logits_bias"]
    ck.ok("grad final_logits_bias", "final_logits_bias" not in grads, "the buffer got a gradient", "frozen (a buffer)")
    check_tensors(ck, "grad", train, grads, ref["grads"])
    check_train(ck, a, names, st_read(os.path.join(d, "final.safetensors")), ref)
    return 1 if ck.failed else 0


def cmd_names(a):
    """The file's tensor names are what MarianMTModel.save_pretrained keeps (the body under
    "model.", lm_head only when untied, final_logits_bias; tied copies and the computed
    positions left out), so from_pretrained finds every key it needs."""
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    got = sorted(st_read(os.path.join(a.model, "model.safetensors")))
    want = sorted(file_name(n) for n in param_names(cfg))
    ok = got == want
    print("%s %s names: %s" % ("PASS" if ok else "FAIL", a.tag, "as MarianMTModel.save_pretrained" if ok
                               else "differ: %s" % sorted(set(got) ^ set(want))))
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-model")
    m.add_argument("--out", required=True)
    for k, v in (("enc-layers", 2), ("dec-layers", 1), ("enc-heads", 3), ("dec-heads", 3), ("d-model", 21),
                 ("enc-ffn", 37), ("dec-ffn", 29), ("positions", 19), ("vocab", 53), ("seed", 1)):
        m.add_argument("--" + k, type=int, default=v)
    m.add_argument("--pad", type=int, default=None)
    m.add_argument("--act", default="gelu")
    m.add_argument("--dtype", choices=("F32", "F16", "BF16"), default="F32")
    m.add_argument("--untied", action="store_true")
    m.add_argument("--unshared", action="store_true")
    m.add_argument("--scale", action="store_true")
    m.add_argument("--hub-layout", action="store_true", help="positions and tied copies stored too")
    m.add_argument("--store-as", default=None, help="the tied table stored only under this name")
    nm = sub.add_parser("names")
    nm.add_argument("--model", required=True)
    nm.add_argument("--tag", default="marian")
    add_run_parsers(sub, ("B", "T", "Te", "seed"), "marian", (("label-smoothing", 0.0),))
    a = ap.parse_args()
    if a.cmd == "make-model":
        cmd_make_model(a)
    elif a.cmd == "prepare":
        cmd_prepare(a)
    elif a.cmd == "names":
        sys.exit(cmd_names(a))
    else:
        sys.exit(cmd_check(a))


if __name__ == "__main__":
    main()
