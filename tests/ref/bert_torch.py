# bert_torch.py: a plain PyTorch BERT (the math of transformers' modeling_bert written out:
# BertEmbeddings, BertSelfAttention with the additive (1 - mask) * finfo.min padding mask,
# BertSelfOutput / BertOutput post-norm, BertPooler, BertPredictionHeadTransform +
# decoder tied to the word embeddings + cls.predictions.bias, cls.seq_relationship,
# BertForSequenceClassification's classifier, BertForQuestionAnswering's qa_outputs) built
# from a Hugging Face-layout directory, and the reference side of tests/t_bert_ref.sh
# (compares tests/tool_bert_driver output). Run with /usr/bin/python3 (python3-torch).
# A directory with a PEFT LoRA adapter beside the base (adapter_config.json +
# adapter_model.safetensors, make-model --lora-targets) is run as peft's LoraModel over
# nn.Linear: out += (lora_alpha / r) x A^T B^T (lora_dropout 0); then only the adapter and
# the head (modules_to_save) train.
# Subcommands: make-model, prepare (inputs + a clipping norm), check.
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_torch import Checker, lr_at, relerr, st_read  # noqa: E402
from st_dtypes import save_safetensors  # noqa: E402

HEADS = {"pretrain": "BertForPreTraining", "mlm": "BertForMaskedLM",
         "classify": "BertForSequenceClassification", "qa": "BertForQuestionAnswering"}


def head_of(cfg):
    arch = (cfg.get("architectures") or ["BertForPreTraining"])[0]
    return {v: k for k, v in HEADS.items()}.get(arch, "pretrain")


def param_names(cfg):
    """gptc's table order = BertForPreTraining's state_dict order (without "bert.")."""
    head = head_of(cfg)
    n = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight",
         "embeddings.token_type_embeddings.weight", "embeddings.LayerNorm.weight", "embeddings.LayerNorm.bias"]
    for l in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % l
        for s in ("attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"):
            n += [p + s + ".weight", p + s + ".bias"]
        n += [p + "attention.output.LayerNorm.weight", p + "attention.output.LayerNorm.bias"]
        for s in ("intermediate.dense", "output.dense"):
            n += [p + s + ".weight", p + s + ".bias"]
        n += [p + "output.LayerNorm.weight", p + "output.LayerNorm.bias"]
    if head in ("pretrain", "classify"):
        n += ["pooler.dense.weight", "pooler.dense.bias"]
    if head in ("pretrain", "mlm"):
        n += ["cls.predictions.bias", "cls.predictions.transform.dense.weight", "cls.predictions.transform.dense.bias",
              "cls.predictions.transform.LayerNorm.weight", "cls.predictions.transform.LayerNorm.bias"]
        if not cfg.get("tie_word_embeddings", True):
            n.append("cls.predictions.decoder.weight")
        if head == "pretrain":
            n += ["cls.seq_relationship.weight", "cls.seq_relationship.bias"]
    elif head == "classify":
        n += ["classifier.weight", "classifier.bias"]
    else:
        n += ["qa_outputs.weight", "qa_outputs.bias"]
    return n + cfg.get("_lora_names", [])


# PEFT's LoRA modules of BERT's encoder layers: (module, (out, in) as a function of C, I)
LORA_MODULES = (("attention.self.query", lambda C, I: (C, C)), ("attention.self.key", lambda C, I: (C, C)),
                ("attention.self.value", lambda C, I: (C, C)), ("attention.output.dense", lambda C, I: (C, C)),
                ("intermediate.dense", lambda C, I: (I, C)), ("output.dense", lambda C, I: (C, I)))


def lora_match(targets, full):
    # peft's check_target_module_exists for a list: the key equals a target or ends in "." + target
    return any(full == t or full.endswith("." + t) for t in targets)


def trainable_names(cfg):
    """All tensors; with an adapter only the adapter and the head (modules_to_save)."""
    if not cfg.get("_lora_names"):
        return param_names(cfg)
    return [n for n in param_names(cfg) if ".lora_" in n or n.startswith(("classifier.", "qa_outputs."))]


def load_model_dir(d):
    """config + {table name: float32 array}: "bert." stripped, LayerNorm.gamma/beta read
    as weight/bias (as transformers' _fix_key does)."""
    with open(os.path.join(d, "config.json")) as f:
        cfg = json.load(f)
    w = {}
    for k, v in st_read(os.path.join(d, "model.safetensors")).items():
        k = k[5:] if k.startswith("bert.") else k
        k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
        w[k] = v.astype(np.float32)
    if "cls.predictions.bias" not in w and "cls.predictions.decoder.bias" in w:
        w["cls.predictions.bias"] = w["cls.predictions.decoder.bias"]
    ac_path = os.path.join(d, "adapter_config.json")
    if os.path.exists(ac_path):
        with open(ac_path) as f:
            ac = json.load(f)
        assert ac["peft_type"] == "LORA", ac_path
        cfg["_lora_scale"] = ac["lora_alpha"] / ac["r"]
        names = []
        for k, v in st_read(os.path.join(d, "adapter_model.safetensors")).items():
            assert k.startswith("base_model.model."), k
            k = k[len("base_model.model."):]
            k = k[5:] if k.startswith("bert.") else k
            w[k] = v.astype(np.float32)  # the head: modules_to_save replaces the base's
            if ".lora_" in k:
                names.append(k)
        cfg["_lora_names"] = sorted(names)
    return cfg, w



def bert_forward(cfg, p, b):
    """b: tokens, types, mask (B, T) and targets / nsp. Returns (logits flat, loss, parts)."""
    head = head_of(cfg)
    ids, types, mask = b["tokens"], b["types"], b["mask"]
    B, T = ids.shape
    C, NH = cfg["hidden_size"], cfg["num_attention_heads"]
    hs = C // NH
    eps = cfg["layer_norm_eps"]
    act = F.gelu if cfg["hidden_act"] == "gelu" else (lambda x: F.gelu(x, approximate="tanh"))

    def lin(x, n):  # nn.Linear, with peft's lora.Linear where adapted
        y = x @ p[n + ".weight"].t() + p[n + ".bias"]
        if n + ".lora_A.weight" in p:
            y = y + cfg["_lora_scale"] * ((x @ p[n + ".lora_A.weight"].t()) @ p[n + ".lora_B.weight"].t())
        return y
    ln = lambda x, n: F.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], eps)  # noqa: E731
    pos = torch.arange(T)
    # nn.Embedding(vocab, hidden, padding_idx=pad_token_id): the pad row's lookups add no gradient
    pad = cfg.get("pad_token_id")
    wemb = F.embedding(ids, p["embeddings.word_embeddings.weight"], padding_idx=pad if pad is not None and pad >= 0 else None)
    x = wemb + p["embeddings.position_embeddings.weight"][pos][None] + p["embeddings.token_type_embeddings.weight"][types]
    x = ln(x, "embeddings.LayerNorm")
    dt = x.dtype
    # BertModel.get_extended_attention_mask: (1.0 - mask[:, None, None, :]) * finfo(dtype).min
    ext = (1.0 - mask[:, None, None, :].to(dt)) * torch.finfo(dt).min
    for l in range(cfg["num_hidden_layers"]):
        P = "encoder.layer.%d." % l
        q = lin(x, P + "attention.self.query").view(B, T, NH, hs).transpose(1, 2)
        k = lin(x, P + "attention.self.key").view(B, T, NH, hs).transpose(1, 2)
        v = lin(x, P + "attention.self.value").view(B, T, NH, hs).transpose(1, 2)
        s = q @ k.transpose(-1, -2) / math.sqrt(hs) + ext
        y = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, C)
        a = ln(lin(y, P + "attention.output.dense") + x, P + "attention.output.LayerNorm")
        h = act(lin(a, P + "intermediate.dense"))
        x = ln(lin(h, P + "output.dense") + a, P + "output.LayerNorm")
    parts = {}
    if head in ("pretrain", "classify"):
        pooled = torch.tanh(lin(x[:, 0], "pooler.dense"))
    if head in ("pretrain", "mlm"):
        t = F.layer_norm(act(lin(x, "cls.predictions.transform.dense")), (C,),
                         p["cls.predictions.transform.LayerNorm.weight"],
                         p["cls.predictions.transform.LayerNorm.bias"], eps)
        dec = p.get("cls.predictions.decoder.weight", p["embeddings.word_embeddings.weight"])
        mlm = t @ dec.t() + p["cls.predictions.bias"]
        V = mlm.shape[-1]
        loss = F.cross_entropy(mlm.reshape(-1, V), b["targets"].reshape(-1), ignore_index=-100)
        parts["mlm_loss"] = loss
        outs = [mlm.reshape(-1)]
        if head == "pretrain":
            nsp = lin(pooled, "cls.seq_relationship")
            parts["nsp_loss"] = F.cross_entropy(nsp, b["nsp"], ignore_index=-100)
            loss = loss + parts["nsp_loss"]
            outs.append(nsp.reshape(-1))
        return torch.cat(outs), loss, parts
    if head == "classify":
        logits = lin(pooled, "classifier")  # dropout off
        if logits.shape[1] == 1:
            # BertForSequenceClassification, num_labels 1: MSELoss(logits.squeeze(), labels.squeeze())
            y = torch.tensor(b["targets"].numpy().astype("<i4").view("<f4").astype(np.float64), dtype=logits.dtype)
            return logits.reshape(-1), F.mse_loss(logits.squeeze(), y.squeeze()), parts
        return logits.reshape(-1), F.cross_entropy(logits, b["targets"], ignore_index=-100), parts
    logits = lin(x, "qa_outputs")
    st, en = logits[..., 0], logits[..., 1]
    ig = T  # BertForQuestionAnswering: positions clamped to [0, T], T ignored
    sp, ep = b["targets"][:, 0].clamp(0, ig), b["targets"][:, 1].clamp(0, ig)
    loss = (F.cross_entropy(st, sp, ignore_index=ig) + F.cross_entropy(en, ep, ignore_index=ig)) / 2
    return logits.reshape(-1), loss, parts


# ---------------------------------------------------------------- test inputs
def cmd_make_model(a):
    """A random BERT directory: non-trivial biases and norms (an init would zero them
    and hide a forgotten bias), in the dtype, names and tying asked for."""
    rng = np.random.default_rng(a.seed)
    C, L, V, P, I = a.hidden, a.layers, a.vocab, a.positions, a.intermediate
    cfg = {"model_type": "bert", "architectures": [HEADS[a.head]], "vocab_size": V, "hidden_size": C,
           "num_hidden_layers": L, "num_attention_heads": a.heads, "intermediate_size": I,
           "hidden_act": a.act, "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
           "max_position_embeddings": P, "type_vocab_size": a.type_vocab, "layer_norm_eps": 1e-12,
           "pad_token_id": 0, "position_embedding_type": "absolute", "tie_word_embeddings": not a.untied}
    if a.head == "classify":
        cfg["id2label"] = {str(i): "L%d" % i for i in range(a.num_labels)}
        cfg["label2id"] = {"L%d" % i: i for i in range(a.num_labels)}
        if a.num_labels == 1:
            cfg["problem_type"] = "regression"
    w = {}
    for n in param_names(cfg):
        if n.endswith("LayerNorm.weight"):
            w[n] = 1 + rng.normal(0, 0.1, C)
        elif n == "cls.predictions.bias":
            w[n] = rng.normal(0, 0.1, V)
        elif n.endswith(".bias"):
            shape = {"cls.seq_relationship.bias": 2, "qa_outputs.bias": 2,
                     "classifier.bias": a.num_labels}.get(n, I if "intermediate" in n else C)
            w[n] = rng.normal(0, 0.05, shape)
        else:
            out, inp = {"embeddings.word_embeddings.weight": (V, C), "embeddings.position_embeddings.weight": (P, C),
                        "embeddings.token_type_embeddings.weight": (a.type_vocab, C),
                        "cls.predictions.decoder.weight": (V, C), "cls.seq_relationship.weight": (2, C),
                        "qa_outputs.weight": (2, C), "classifier.weight": (a.num_labels, C)}.get(n, (C, C))
            if "intermediate.dense" in n:
                out, inp = I, C
            elif n.endswith("output.dense.weight") and "attention" not in n:
                out, inp = C, I
            w[n] = rng.normal(0, 0.3 if "embeddings" in n else 1.0 / math.sqrt(inp), (out, inp))
    dtype = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}[a.dtype]
    items = []
    for n, v in w.items():
        name = n if n.startswith(("cls.", "classifier.", "qa_outputs.")) else ("bert." + n if not a.no_prefix else n)
        if a.old_names:
            name = name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta")
        items.append((name, torch.tensor(v, dtype=torch.float32).to(dtype)))
    if a.tied_decoder_saved and not a.untied and a.head in ("pretrain", "mlm"):
        # as older transformers wrote BertForPreTraining: the tied decoder and its bias too
        items.append(("cls.predictions.decoder.weight", items[0][1].clone()))
        items.append(("cls.predictions.decoder.bias", torch.tensor(w["cls.predictions.bias"]).to(dtype)))
    if not a.no_prefix:
        items.append(("bert.embeddings.position_ids", torch.arange(P, dtype=torch.int64)[None]))
    os.makedirs(a.out, exist_ok=True)
    save_safetensors(os.path.join(a.out, "model.safetensors"), items, {"format": "pt"})
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    if a.lora_targets:
        make_adapter(a, rng, cfg, w)


def make_adapter(a, rng, cfg, w):
    """PEFT's files for a LoraConfig(r, lora_alpha, target_modules, lora_dropout=0,
    modules_to_save = the head): A and B random (PEFT starts B at zero, which would hide
    B's part of the gradients), the head different from the base's."""
    targets = a.lora_targets.split(",")
    C, I, items = a.hidden, a.intermediate, []
    for l in range(a.layers):
        for mod, shape in LORA_MODULES:
            full = "bert.encoder.layer.%d.%s" % (l, mod)
            if not lora_match(targets, full):
                continue
            out, inp = shape(C, I)
            items.append(("base_model.model.%s.lora_A.weight" % full, rng.normal(0, 0.3, (a.lora_r, inp))))
            items.append(("base_model.model.%s.lora_B.weight" % full, rng.normal(0, 0.3, (out, a.lora_r))))
    assert items, "--lora-targets %s match no module" % a.lora_targets
    head = "classifier" if a.head == "classify" else "qa_outputs"
    for n in (head + ".weight", head + ".bias"):
        items.append(("base_model.model." + n, w[n] + rng.normal(0, 0.2, w[n].shape)))
    save_safetensors(os.path.join(a.out, "adapter_model.safetensors"),
                     [(n, torch.tensor(v, dtype=torch.float32)) for n, v in items], {"format": "pt"})
    ac = {"peft_type": "LORA", "task_type": "SEQ_CLS" if a.head == "classify" else "QUESTION_ANS", "r": a.lora_r,
          "lora_alpha": a.lora_alpha, "lora_dropout": 0.0, "target_modules": targets, "fan_in_fan_out": False,
          "bias": "none", "modules_to_save": [head]}
    with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
        json.dump(ac, f, indent=2)


def make_inputs(cfg, B, T, n, seed):
    """n batches: tokens, token types (a random split into segment 0 then 1), padding
    (each row keeps a random length >= 2; row 0 full), MLM labels (~15% of the real
    tokens, at least one per batch) and NSP labels, or class labels, or spans."""
    rng = np.random.default_rng(seed)
    head, V = head_of(cfg), cfg["vocab_size"]
    out = []
    for _ in range(n):
        tok = rng.integers(1, V, (B, T))
        lens = rng.integers(2, T + 1, B)
        lens[0] = T
        mask = (np.arange(T)[None] < lens[:, None]).astype(np.int64)
        tok[mask == 0] = 0
        tok[0, T // 2] = 0  # the pad id at a real position: padding_idx keeps its row's gradient from the lookup
        split = rng.integers(1, T, B)
        types = ((np.arange(T)[None] >= split[:, None]) & (mask == 1)).astype(np.int64)
        types %= cfg.get("type_vocab_size", 2)
        b = {"tokens": tok, "types": types, "mask": mask}
        if head in ("pretrain", "mlm"):
            tgt = np.where((rng.random((B, T)) < 0.15) & (mask == 1), rng.integers(0, V, (B, T)), -100)
            tgt[0, 1] = rng.integers(0, V)
            b["targets"] = tgt
            if head == "pretrain":
                b["nsp"] = rng.integers(0, 2, B)
        elif head == "classify" and len(cfg["id2label"]) == 1:
            # a regression's float labels travel as their float32 bits (gptc_regression_target)
            b["targets"] = rng.normal(0.5, 2.0, B).astype("<f4").view("<i4")
        elif head == "classify":
            b["targets"] = rng.integers(0, len(cfg["id2label"]), B)
        else:
            s = rng.integers(0, T, B)
            e = np.minimum(s + rng.integers(0, 4, B), T - 1)
            e[-1] = T + 3  # clamped to T: ignored
            b["targets"] = np.stack([s, e], 1)
        out.append(b)
    return out


def write_inputs(path, cfg, batches, B, T):
    """little-endian int32: n, B, T, n_targets, has_nsp, then per batch tokens, types,
    mask (B*T each), targets (n_targets), nsp (B when has_nsp)."""
    head = head_of(cfg)
    nt = {"pretrain": B * T, "mlm": B * T, "classify": B, "qa": 2 * B}[head]
    parts = [np.array([len(batches), B, T, nt, int(head == "pretrain")], dtype="<i4")]
    for b in batches:
        parts += [b["tokens"].ravel(), b["types"].ravel(), b["mask"].ravel(), b["targets"].ravel()]
        if head == "pretrain":
            parts.append(b["nsp"].ravel())
    np.concatenate([x.astype("<i4") for x in parts]).tofile(path)


def to_torch(b):
    return {k: torch.tensor(v, dtype=torch.int64) for k, v in b.items()}


def adamw_reference(fwd, p, names, batches, steps, lr, wd, beta1, beta2, eps, clip):
    """fwd(p, batch) -> (logits, loss, extra). Forward/backward on batch 0, then `steps`
    AdamW steps over 2 micro-batches each (batches 1..2*steps), loss_scale 0.5,
    clip_grad_norm_, per-step lr (lr_at); decay on 2-D tensors only. Trains p[names]."""
    logits, loss, extra = fwd(p, batches[0])
    loss.backward()
    out = {"logits": logits.detach().clone(), "loss": loss.detach().reshape(1).clone(), "extra": extra,
           "grads": {k: p[k].grad.detach().clone() for k in names}}
    for k in names:
        p[k].grad = None
    opt = torch.optim.AdamW([{"params": [p[n] for n in names if p[n].dim() == 2], "weight_decay": wd},
                             {"params": [p[n] for n in names if p[n].dim() != 2], "weight_decay": 0.0}],
                            lr=lr, betas=(beta1, beta2), eps=eps)
    losses, norms = [], []
    for t in range(1, steps + 1):
        opt.zero_grad(set_to_none=True)
        for mb in range(2):
            l = fwd(p, batches[2 * t - 1 + mb])[1]
            (l * 0.5).backward()
            losses.append(l.item())
        norms.append(float(torch.nn.utils.clip_grad_norm_([p[n] for n in names], clip)))
        for g in opt.param_groups:
            g["lr"] = lr_at(lr, t, steps)
        opt.step()
    out["final"] = {k: v.detach().clone() for k, v in p.items()}
    out["losses"], out["norms"] = np.array(losses), np.array(norms)
    return out


def reference(cfg, weights, batches, steps, lr, wd, beta1, beta2, eps, clip, dtype):
    """adamw_reference over the BERT forward; trains trainable_names(cfg)."""
    names = trainable_names(cfg)
    p = {k: torch.tensor(weights[k], dtype=dtype).requires_grad_(k in names) for k in param_names(cfg)}
    out = adamw_reference(lambda q, b: bert_forward(cfg, q, to_torch(b)), p, names, batches, steps, lr, wd, beta1,
                          beta2, eps, clip)
    out["parts"] = {k: float(v) for k, v in out.pop("extra").items()}
    return out


def hp_of(a):
    return dict(steps=a.steps, lr=a.lr, wd=a.wd, beta1=a.beta1, beta2=a.beta2, eps=a.eps, clip=a.clip)


def cmd_prepare(a):
    """Writes the inputs file, prints a max_norm that some steps exceed and others not."""
    cfg, w = load_model_dir(a.model)
    batches = make_inputs(cfg, a.B, a.T, 1 + 2 * a.steps, a.seed)
    write_inputs(a.inputs, cfg, batches, a.B, a.T)
    hp = hp_of(a)
    hp["clip"] = 1e30
    r = reference(cfg, w, batches, dtype=torch.float32, **hp)
    print("%.6g" % float(np.median(r["norms"])))


def check_tensors(ck, group, names, got, ref):
    """rel err < 1e-4 per tensor. A tensor that is zero in exact arithmetic (the key
    bias's gradient: it shifts every score of a query; the QA bias's: every logit of a
    softmax over positions; a zero key bias after training, its gradient being zero) is
    gptc's rounding noise instead: measured against the group's largest tensor; a tensor
    under 1e-3 of the largest that misses 1e-4 relative (a cancelling sum) is measured
    against 1e-3 of the largest."""
    top = max(np.linalg.norm(v.numpy()) for v in ref.values())
    for n in names:
        if n not in got:
            ck.ok("%s %s" % (group, n), False, "missing from driver output")
            continue
        r = ref[n].numpy()
        if np.linalg.norm(r) < 1e-10 * top:
            e = np.linalg.norm(got[n].astype(np.float64) - r) / top
            ck.ok("%s %s" % (group, n), e < 1e-6, "zero in exact arithmetic: |got| / max = %.3g >= 1e-6" % e,
                  "zero; %.2g" % e)
            continue
        if np.linalg.norm(r) < 1e-3 * top and relerr(got[n], r) >= 1e-4:
            # a small sum of cancelling terms (the NSP bias's gradient is [g, -g] with g a mean
            # of p - y over the batch): float32 noise measured against 1e-3 of the largest
            e = np.linalg.norm(got[n].astype(np.float64) - r) / (1e-3 * top)
            ck.ok("%s %s" % (group, n), e < 1e-4, "small: ||got - ref|| / (1e-3 max) = %.3g >= 1e-4" % e,
                  "small; %.2g" % e)
            continue
        ck.rel(group, n, got[n], r, 1e-4)


def check_start(a, w, names, run_reference):
    """The driver's weights against model.safetensors, then run_reference() (float64) and
    the driver's logits and loss against it (rel err < 1e-5). Returns (ck, ref, fwd)."""
    d, ck = a.driver_out, Checker(a.tag)
    p0 = st_read(os.path.join(d, "params0.safetensors"))
    ck.ok("load", sorted(p0) == sorted(names) and all(np.array_equal(p0[n], w[n]) for n in names),
          "weights read by gptc differ from model.safetensors (or names differ: %s)" % sorted(set(p0) ^ set(names)))
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    ref = run_reference()
    fwd = st_read(os.path.join(d, "forward.safetensors"))
    # rel err = ||got - ref|| / ||ref||: 1e-5 forward, 1e-4 gradients and weights
    ck.rel("forward", "logits", fwd["logits"], ref["logits"].numpy(), 1e-5)
    ck.rel("forward", "loss", fwd["loss"], ref["loss"].numpy(), 1e-5)
    return ck, ref, fwd


def cmd_check(a):
    cfg, w = load_model_dir(a.model)
    batches = make_inputs(cfg, a.B, a.T, 1 + 2 * a.steps, a.seed)
    d, names = a.driver_out, param_names(cfg)
    ck, ref, fwd = check_start(a, w, names, lambda: reference(cfg, w, batches, dtype=torch.float64, **hp_of(a)))
    for k, v in ref["parts"].items():
        ck.rel("forward", k, fwd[k], np.array([v]), 1e-5)
    grads = st_read(os.path.join(d, "grads.safetensors"))
    trainable = trainable_names(cfg)
    ck.ok("grad frozen", sorted(grads) == sorted(trainable),
          "gptc's gradients are not those of the trainable tensors: %s" % sorted(set(grads) ^ set(trainable))[:4],
          "%d trainable of %d" % (len(trainable), len(names)))
    check_tensors(ck, "grad", trainable, grads, ref["grads"])
    check_train(ck, a, names, st_read(os.path.join(d, "final.safetensors")), ref)
    return 1 if ck.failed else 0


def check_train(ck, a, names, fin, ref):
    """The training part of a check (also tests/ref/marian_torch.py's): losses per
    micro-batch, gradient norms, clipping active on some steps, the final weights, and the
    worst errors."""
    ck.rel("train", "losses (%d micro-batches)" % len(ref["losses"]), fin["losses"], ref["losses"], 1e-5)
    ck.rel("train", "grad norms before clipping", fin["norms"], ref["norms"], 1e-4)
    n_clipped = int(np.sum(ref["norms"] > a.clip))
    ck.ok("train clipping-active", 1 <= n_clipped < a.steps,
          "clipping not exercised both ways (max_norm %g, norms %s)" % (a.clip, ref["norms"]),
          "%d of %d steps clipped at max_norm %.3g" % (n_clipped, a.steps, a.clip))
    check_tensors(ck, "weight", names, fin, ref["final"])
    wf, wg, ww = (ck.worst.get(k, (0.0, "-")) for k in ("forward", "grad", "weight"))
    print("INFO %s worst rel err vs float64: forward %s %.2g, grad %s %.2g, weight %s %.2g" % (
        a.tag, wf[1], wf[0], wg[1], wg[0], ww[1], ww[0]))


def cmd_names(a):
    """The file's tensor names are exactly what transformers' save_pretrained writes for
    the config's class (body under "bert.", heads beside it, the tied decoder left
    out), so from_pretrained finds every key and no unexpected one."""
    with open(os.path.join(a.model, "config.json")) as f:
        cfg = json.load(f)
    got = sorted(st_read(os.path.join(a.model, "model.safetensors")))
    want = sorted(n if n.startswith(("cls.", "classifier.", "qa_outputs.")) else "bert." + n for n in param_names(cfg))
    ok = got == want
    print("%s %s names: %s" % ("PASS" if ok else "FAIL", a.tag, "as %s.save_pretrained" % HEADS[head_of(cfg)] if ok
                               else "differ: %s" % sorted(set(got) ^ set(want))))
    return 0 if ok else 1


def load_params(d):
    cfg, w = load_model_dir(d)
    return cfg, {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}


def cmd_eval_pretrain(a):
    """BertForPreTraining on the whole file as one batch padded to its longest line
    (attention_mask 0 on the padding): mlm_loss = mean CE over labelled positions,
    nsp_loss = mean CE over examples, their sum, the accuracies; vs gptc's --json."""
    cfg, p = load_params(a.model)
    rows = [json.loads(l) for l in open(a.data) if l.strip()]
    T = max(len(r["input_ids"]) for r in rows)
    pad = lambda v, x: v + [x] * (T - len(v))  # noqa: E731
    b = {"tokens": torch.tensor([pad(r["input_ids"], 0) for r in rows]),
         "types": torch.tensor([pad(r.get("token_type_ids", [0] * len(r["input_ids"])), 0) for r in rows]),
         "mask": torch.tensor([pad(r.get("attention_mask", [1] * len(r["input_ids"])), 0) for r in rows]),
         "targets": torch.tensor([pad(r["labels"], -100) for r in rows]),
         "nsp": torch.tensor([r.get("next_sentence_label", -100) for r in rows])}
    with torch.no_grad():
        logits, loss, parts = bert_forward(cfg, p, b)
    B, V = len(rows), cfg["vocab_size"]
    mlm = logits[:B * T * V].view(B, T, V)
    sel = b["targets"] != -100
    ref = {"loss": float(loss), "mlm_loss": float(parts["mlm_loss"]), "nsp_loss": float(parts["nsp_loss"]),
           "mlm_accuracy": float((mlm.argmax(-1)[sel] == b["targets"][sel]).double().mean()),
           "nsp_accuracy": float((logits[B * T * V:].view(B, 2).argmax(-1) == b["nsp"]).double().mean()),
           "examples": B}
    got = json.load(open(a.got))
    ck = Checker(a.tag)
    for k in ("loss", "mlm_loss", "nsp_loss"):
        ck.rel("eval", k, np.array([got[k]]), np.array([ref[k]]), 1e-5)
    for k in ("mlm_accuracy", "nsp_accuracy", "examples"):
        ck.ok("eval " + k, abs(got[k] - ref[k]) < 1e-6, "gptc %r, torch %r" % (got[k], ref[k]), "%g" % ref[k])
    return 1 if ck.failed else 0


def cmd_fill_mask(a):
    """The fill-mask pipeline's top-k (softmax over the vocabulary at each [MASK]) from the
    ids gptc encoded (checked: [CLS] ... [SEP]), vs gptc's --json."""
    cfg, p = load_params(a.model)
    ids = [int(x) for x in open(a.ids).read().split()]
    got = json.load(open(a.got))
    mask_id = a.mask_id
    pos = [i for i, t in enumerate(ids) if t == mask_id]
    if len(pos) == 1:
        got = [got]
    T = len(ids)
    b = {"tokens": torch.tensor([ids]), "types": torch.zeros(1, T, dtype=torch.int64),
         "mask": torch.ones(1, T, dtype=torch.int64), "targets": torch.full((1, T), -100), "nsp": torch.tensor([0])}
    with torch.no_grad():
        logits, _, _ = bert_forward(cfg, p, b)
    V = cfg["vocab_size"]
    probs = torch.softmax(logits[:T * V].view(T, V), -1)
    ck = Checker(a.tag)
    ck.ok("fill-mask masks", len(got) == len(pos), "gptc lists %d masks, the ids hold %d" % (len(got), len(pos)))
    for g, i in zip(got, pos):
        top = torch.topk(probs[i], len(g))
        ck.ok("fill-mask tokens at %d" % i, [e["token"] for e in g] == top.indices.tolist(),
              "gptc %s, torch %s" % ([e["token"] for e in g], top.indices.tolist()))
        ck.rel("fill-mask", "scores at %d" % i, np.array([e["score"] for e in g]), top.values.numpy(), 1e-5)
    return 1 if ck.failed else 0


def add_run_parsers(sub, sizes, tag, floats=()):
    """The prepare and check subcommands (also tests/ref/marian_torch.py's): model, inputs,
    the integer sizes, the AdamW run's hyperparameters (+ floats, (name, default) pairs);
    check adds --tag and --driver-out."""
    for cmd in ("prepare", "check"):
        c = sub.add_parser(cmd)
        c.add_argument("--model", required=True)
        c.add_argument("--inputs", required=True)
        for k in sizes:
            c.add_argument("--" + k, type=int, required=True)
        c.add_argument("--steps", type=int, default=10)
        for k, v in (("lr", 3e-3), ("wd", 0.1), ("beta1", 0.9), ("beta2", 0.95), ("eps", 1e-4), ("clip", 1.0)) + \
                tuple(floats):
            c.add_argument("--" + k, type=float, default=v)
        if cmd == "check":
            c.add_argument("--tag", default=tag)
            c.add_argument("--driver-out", required=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make-model")
    m.add_argument("--out", required=True)
    for k, v in (("layers", 2), ("heads", 3), ("hidden", 21), ("intermediate", 37), ("positions", 19),
                 ("vocab", 53), ("type-vocab", 2), ("num-labels", 3), ("seed", 1)):
        m.add_argument("--" + k, type=int, default=v)
    m.add_argument("--head", choices=sorted(HEADS), default="pretrain")
    m.add_argument("--act", default="gelu")
    m.add_argument("--dtype", choices=("F32", "F16", "BF16"), default="F32")
    m.add_argument("--untied", action="store_true")
    m.add_argument("--old-names", action="store_true", help="LayerNorm.gamma / .beta")
    m.add_argument("--no-prefix", action="store_true", help="BertModel's names (no \"bert.\")")
    m.add_argument("--tied-decoder-saved", action="store_true", help="cls.predictions.decoder.* stored too")
    m.add_argument("--lora-targets", default="", help="a PEFT LoRA adapter on these modules (classify, qa heads)")
    m.add_argument("--lora-r", type=int, default=4)
    m.add_argument("--lora-alpha", type=float, default=8.0)
    ev = sub.add_parser("eval-pretrain")
    ev.add_argument("--model", required=True)
    ev.add_argument("--data", required=True)
    ev.add_argument("--got", required=True)
    ev.add_argument("--tag", default="bert")
    fm = sub.add_parser("fill-mask")
    fm.add_argument("--model", required=True)
    fm.add_argument("--ids", required=True)
    fm.add_argument("--got", required=True)
    fm.add_argument("--mask-id", type=int, required=True)
    fm.add_argument("--tag", default="bert")
    nm = sub.add_parser("names")
    nm.add_argument("--model", required=True)
    nm.add_argument("--tag", default="bert")
    add_run_parsers(sub, ("B", "T", "seed"), "bert")
    a = ap.parse_args()
    if a.cmd == "make-model":
        cmd_make_model(a)
    elif a.cmd == "prepare":
        cmd_prepare(a)
    elif a.cmd == "eval-pretrain":
        sys.exit(cmd_eval_pretrain(a))
    elif a.cmd == "fill-mask":
        sys.exit(cmd_fill_mask(a))
    elif a.cmd == "names":
        sys.exit(cmd_names(a))
    else:
        sys.exit(cmd_check(a))


if __name__ == "__main__":
    main()
