# tasks_torch.py: PyTorch references of gptc's task heads and LoRA, on top of
# gpt2_torch.py: GPT2ForSequenceClassification (score on the last non-pad token, class
# weights), GPT2ForQuestionAnswering (qa_outputs, clamped positions) and PEFT LoRA on the
# Conv1D layers. Subcommands:
#   make  --out DIR --head classify|qa [--lora-targets LIST] ...: a random model dir,
#         adapter and inputs.txt (B T, tokens, targets, class weights)
#   check --dir DIR --driver-out FILE [--trainable all|lora]: compares gptc's logits, loss
#         and every gradient (tests/test_tasks ref DIR FILE) with PyTorch's.
# Run with /usr/bin/python3 (Debian python3-torch).
import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_torch as ref  # noqa: E402

LORA_SITES = ("attn.c_attn", "attn.c_proj", "mlp.c_fc", "mlp.c_proj")


def lora_matches(targets, site):
    """PEFT: a target matches the module name exactly or as its dotted suffix."""
    for t in targets:
        if site == t or site.endswith("." + t):
            return True
    return False


def cmd_make(a):
    rng = np.random.default_rng(a.seed)
    ns = argparse.Namespace(out=a.out, n_layer=a.n_layer, n_head=a.n_head, n_embd=a.n_embd,
                            n_positions=a.n_positions, vocab=a.vocab, activation="gelu_new", seed=a.seed)
    ref.cmd_make_model(ns)
    cfg_path = os.path.join(a.out, "config.json")
    with open(cfg_path) as f:
        cfg = json.load(f)
    raw = ref.st_read(os.path.join(a.out, "model.safetensors"))
    C, B, T = a.n_embd, a.B, a.T
    pad = a.vocab - 1
    cfg["pad_token_id"] = pad
    if a.head == "classify":
        K = a.labels
        cfg["architectures"] = ["GPT2ForSequenceClassification"]
        cfg["id2label"] = {str(i): "lab%d" % i for i in range(K)}
        cfg["label2id"] = {"lab%d" % i: i for i in range(K)}
        if K == 1:
            cfg["problem_type"] = "regression"
        raw["score.weight"] = rng.normal(0, 0.2, (K, C)).astype(np.float32)
    else:
        cfg["architectures"] = ["GPT2ForQuestionAnswering"]
        raw["qa_outputs.weight"] = rng.normal(0, 0.2, (2, C)).astype(np.float32)
        raw["qa_outputs.bias"] = rng.normal(0, 0.1, 2).astype(np.float32)
    with open(cfg_path, "w") as f:
        json.dump(cfg, f, indent=2)
    ref.st_write(os.path.join(a.out, "model.safetensors"), raw, {"format": "pt"})
    if a.lora_targets:
        targets = a.lora_targets.split(",")
        ad = {}
        for l in range(a.n_layer):
            for site in LORA_SITES:
                name = "h.%d.%s" % (l, site)
                if not lora_matches(targets, name):
                    continue
                w = raw["transformer.%s.weight" % name]
                fin, fout = w.shape
                ad["base_model.model.transformer.%s.lora_A.weight" % name] = rng.normal(0, 0.3, (a.r, fin)).astype(np.float32)
                ad["base_model.model.transformer.%s.lora_B.weight" % name] = rng.normal(0, 0.3, (fout, a.r)).astype(np.float32)
        head = "score" if a.head == "classify" else "qa_outputs"
        for k, v in raw.items():
            if k.startswith(head + "."):
                ad["base_model.model." + k] = (v + rng.normal(0, 0.05, v.shape)).astype(np.float32)
        ref.st_write(os.path.join(a.out, "adapter_model.safetensors"), ad, {"format": "pt"})
        with open(os.path.join(a.out, "adapter_config.json"), "w") as f:
            json.dump({"peft_type": "LORA", "task_type": "SEQ_CLS" if a.head == "classify" else "QUESTION_ANS",
                       "r": a.r, "lora_alpha": a.alpha, "lora_dropout": a.dropout, "target_modules": targets,
                       "fan_in_fan_out": True, "bias": "none", "modules_to_save": [head]}, f, indent=2)
    # inputs: right-padded rows of uneven lengths (one row all real tokens)
    tokens = rng.integers(0, a.vocab - 1, (B, T))
    lens = rng.integers(1, T + 1, B)
    lens[0] = T
    for b in range(B):
        tokens[b, lens[b]:] = pad
    if a.head == "classify" and a.labels == 1:
        # a regression's float labels travel as their float32 bits (gptc_regression_target)
        tg = rng.normal(0.5, 2.0, B).astype("<f4").view("<i4")
        weights = []
    elif a.head == "classify":
        tg = rng.integers(0, a.labels, B)
        if B > 2:
            tg[1] = -100
        weights = rng.uniform(0.3, 2.0, a.labels) if a.class_weights else []
    else:
        tg = np.stack([rng.integers(0, T + 3, B), rng.integers(0, T + 3, B)], 1).reshape(-1)
        tg[0], tg[1] = 1, min(3, T - 1)  # at least one counted target
        weights = []
    with open(os.path.join(a.out, "inputs.txt"), "w") as f:
        f.write("%d %d %d %d\n" % (B, T, len(tg), len(weights)))
        f.write(" ".join(str(int(x)) for x in tokens.reshape(-1)) + "\n")
        f.write(" ".join(str(int(x)) for x in tg) + "\n")
        f.write(" ".join("%.9g" % x for x in weights) + "\n")


def forward(cfg, p, lora, tokens, targets, weights):
    F, torch = ref.F, ref.torch
    B, T = tokens.shape
    C, NH = cfg["n_embd"], cfg["n_head"]
    hd = C // NH
    eps = cfg.get("layer_norm_epsilon", 1e-5)
    act = cfg.get("activation_function", "gelu_new")

    def conv(x, name):
        y = x @ p[name + ".weight"] + p[name + ".bias"]
        if name in lora:
            A, Bm, scale = lora[name]
            y = y + scale * ((x @ A.t()) @ Bm.t())
        return y

    x = p["wte.weight"][tokens] + p["wpe.weight"][torch.arange(T)][None]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(cfg["n_layer"]):
        pre = "h.%d." % l
        h = F.layer_norm(x, (C,), p[pre + "ln_1.weight"], p[pre + "ln_1.bias"], eps)
        q, k, v = conv(h, pre + "attn.c_attn").split(C, dim=2)
        q = q.view(B, T, NH, hd).transpose(1, 2)
        k = k.view(B, T, NH, hd).transpose(1, 2)
        v = v.view(B, T, NH, hd).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) / math.sqrt(hd)
        att = torch.softmax(att.masked_fill(~mask, torch.finfo(att.dtype).min), dim=-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + conv(y, pre + "attn.c_proj")
        h = F.layer_norm(x, (C,), p[pre + "ln_2.weight"], p[pre + "ln_2.bias"], eps)
        x = x + conv(ref._act(conv(h, pre + "mlp.c_fc"), act), pre + "mlp.c_proj")
    x = F.layer_norm(x, (C,), p["ln_f.weight"], p["ln_f.bias"], eps)
    if "score.weight" in p:
        # transformers: the last token that is not pad (argmax of index * mask)
        nonpad = (tokens != cfg["pad_token_id"]).long()
        idx = (torch.arange(T)[None] * nonpad).argmax(-1)
        logits = x[torch.arange(B), idx] @ p["score.weight"].t()
        if logits.shape[1] == 1:
            # GPT2ForSequenceClassification, num_labels 1: MSELoss(logits.squeeze(), labels.squeeze())
            y = torch.tensor(targets.numpy().astype("<i4").view("<f4").astype(np.float64), dtype=logits.dtype)
            return logits, F.mse_loss(logits.squeeze(), y.squeeze())
        w = torch.tensor(weights, dtype=logits.dtype) if len(weights) else None
        loss = F.cross_entropy(logits, targets, weight=w, ignore_index=-100)
        return logits, loss
    logits = x @ p["qa_outputs.weight"].t() + p["qa_outputs.bias"]
    start, end = logits[..., 0], logits[..., 1]
    tg = targets.view(B, 2).clamp(0, T)
    loss = (F.cross_entropy(start, tg[:, 0], ignore_index=T) + F.cross_entropy(end, tg[:, 1], ignore_index=T)) / 2
    return logits, loss


def cmd_check(a):
    ref.need_torch()
    torch = ref.torch
    cfg, w = ref.load_model_dir(a.dir)
    with open(os.path.join(a.dir, "inputs.txt")) as f:
        B, T, nt, nw = (int(x) for x in f.readline().split())
        tokens = torch.tensor([int(x) for x in f.readline().split()]).view(B, T)
        targets = torch.tensor([int(x) for x in f.readline().split()])
        weights = [float(x) for x in f.readline().split()]
    dt = torch.float64
    p = {k: torch.tensor(v, dtype=dt, requires_grad=True) for k, v in w.items()}
    lora, lp = {}, {}
    ad_cfg = os.path.join(a.dir, "adapter_config.json")
    if os.path.exists(ad_cfg):
        with open(ad_cfg) as f:
            ac = json.load(f)
        ad = ref.st_read(os.path.join(a.dir, "adapter_model.safetensors"))
        scale = ac["lora_alpha"] / ac["r"]
        for k, v in ad.items():
            name = k[len("base_model.model."):]
            name = name[len("transformer."):] if name.startswith("transformer.") else name
            if ".lora_" not in name:
                p[name] = torch.tensor(v, dtype=dt, requires_grad=True)  # modules_to_save (the head)
                continue
            lp[name] = torch.tensor(v, dtype=dt, requires_grad=True)
        for k in lp:
            if k.endswith("lora_A.weight"):
                site = k[:-len(".lora_A.weight")]
                lora[site] = (lp[k], lp[site + ".lora_B.weight"], scale)
    logits, loss = forward(cfg, p, lora, tokens, targets, weights)
    loss.backward()
    got = ref.st_read(a.driver_out)
    ck = ref.Checker(a.tag)
    ck.rel("logits", "", got["logits"].reshape(-1), logits.detach().numpy().reshape(-1), 1e-5)
    ck.rel("loss", "", got["loss"].reshape(-1), np.array([loss.item()]), 1e-5)
    head = [k for k in p if k.startswith("score.") or k.startswith("qa_outputs.")]
    names = (list(lp) + head) if lora else list(p)
    n = 0
    for k in names:
        t = lp.get(k, p.get(k))
        gname = "grad." + k
        if gname not in got:
            ck.ok("grad " + k, False, "gptc wrote no gradient for it")
            continue
        g = t.grad.numpy()
        if np.linalg.norm(g) < 1e-7:
            # mathematically zero (qa_outputs.bias, ln_f.bias under QA: a shift of every
            # position's logit leaves the softmax unchanged): float32 noise is all there is
            e = float(np.linalg.norm(got[gname].astype(np.float64)))
            ck.ok("grad %s" % k, e < 1e-5, "|grad| %.3g, expected 0" % e, "zero, |gptc| %.2g" % e)
        else:
            ck.rel("grad", k, got[gname], g, 1e-4)
        n += 1
    if lora:
        frozen = [k for k in got if k.startswith("grad.") and k[5:] not in names]
        ck.ok("frozen base", not frozen, "gptc has gradients of frozen tensors: %s" % frozen[:3])
    print("%s: %d gradients compared; worst %s" % (a.tag, n, {g: "%.2g %s" % v for g, v in ck.worst.items()}))
    sys.exit(1 if ck.failed else 0)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    m = sub.add_parser("make")
    m.add_argument("--out", required=True)
    m.add_argument("--head", choices=("classify", "qa"), required=True)
    m.add_argument("--n-layer", type=int, default=2)
    m.add_argument("--n-head", type=int, default=3)
    m.add_argument("--n-embd", type=int, default=33)
    m.add_argument("--n-positions", type=int, default=23)
    m.add_argument("--vocab", type=int, default=71)
    m.add_argument("--B", type=int, default=5)
    m.add_argument("--T", type=int, default=13)
    m.add_argument("--labels", type=int, default=3)
    m.add_argument("--class-weights", action="store_true")
    m.add_argument("--lora-targets", default="")
    m.add_argument("--r", type=int, default=3)
    m.add_argument("--alpha", type=float, default=7.0)
    m.add_argument("--dropout", type=float, default=0.0)
    m.add_argument("--seed", type=int, default=1)
    c = sub.add_parser("check")
    c.add_argument("--dir", required=True)
    c.add_argument("--driver-out", required=True)
    c.add_argument("--tag", default="tasks")
    a = ap.parse_args()
    {"make": cmd_make, "check": cmd_check}[a.cmd](a)


if __name__ == "__main__":
    main()
