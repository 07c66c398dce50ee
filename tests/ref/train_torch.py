# train_torch.py: the PyTorch side of tests/t_train.sh. Trains the same GPT-2 as
# `gptc train --loader sequential` (same initial weights, same tokens, torch.optim.AdamW,
# Hugging Face's warmup schedules written out as in transformers' optimization.py,
# clip_grad_norm_, gradient accumulation, no dropout) and compares train_loss of every
# step in OUT/metrics.jsonl and the final weights. Prints PASS/FAIL lines.
# usage: train_torch.py INIT_DIR DATA_DIR OUT_DIR B T ACCUM STEPS LR MIN_LR WARMUP SCHED WD CLIP
import json
import math
import os
import struct
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_torch as ref  # noqa: E402

ref.need_torch()


def read_shard(path):
    with open(path, "rb") as f:
        raw = f.read()
    assert raw[:8] == b"GPTCTOKS", path
    width, n = struct.unpack("<I", raw[12:16])[0], struct.unpack("<Q", raw[16:24])[0]
    return np.frombuffer(raw[64:64 + n * width], dtype="<u2" if width == 2 else "<u4").astype(np.int64)


def hf_lambda(kind, warmup, total, min_rate):
    # transformers.optimization: _get_{constant,linear,cosine}_schedule_with_warmup_lr_lambda
    def f(step):
        if step < warmup:
            return float(step) / float(max(1, warmup))
        if kind == "constant":
            return 1.0
        if kind == "linear":
            factor = max(0.0, float(total - step) / float(max(1, total - warmup)))
        else:
            progress = float(step - warmup) / float(max(1, total - warmup))
            factor = max(0.0, 0.5 * (1.0 + math.cos(math.pi * 0.5 * 2.0 * progress)))
        if min_rate > 0:  # cosine_with_min_lr: factor * (1 - min_lr_rate) + min_lr_rate
            factor = factor * (1 - min_rate) + min_rate
        return factor
    return f


def main():
    (init_dir, data_dir, out_dir, B, T, accum, steps, lr, min_lr, warmup, sched, wd, clip) = sys.argv[1:14]
    B, T, accum, steps, warmup = int(B), int(T), int(accum), int(steps), int(warmup)
    lr, min_lr, wd, clip = float(lr), float(min_lr), float(wd), float(clip)
    torch.manual_seed(0)
    cfg, w = ref.load_model_dir(init_dir)
    p = ref.make_params(cfg, w, torch.float64)
    decay, no_decay = ref.adamw_groups(cfg, p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, hf_lambda(sched, warmup, steps, min_lr / lr if lr else 0))
    data = read_shard(os.path.join(data_dir, "train.bin"))
    pos, losses = 0, []
    for _ in range(steps):
        opt.zero_grad()
        step_loss = 0.0
        for _ in range(accum):
            if pos + B * T + 1 > len(data):
                pos = 0
            chunk = torch.tensor(data[pos:pos + B * T + 1])
            pos += B * T
            x, y = chunk[:-1].view(B, T), chunk[1:].view(B, T)
            _, loss = ref.gpt2_forward(cfg, p, x, y)
            (loss / accum).backward()
            step_loss += loss.item() / accum
        if clip > 0:
            torch.nn.utils.clip_grad_norm_([p[n] for n in ref.param_names(cfg)], clip)
        opt.step()
        sch.step()
        losses.append(step_loss)
    fails = 0
    got = []
    with open(os.path.join(out_dir, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if "train_loss" in r:
                got.append((r["step"], r["train_loss"]))
    if len(got) != steps or [s for s, _ in got] != list(range(1, steps + 1)):
        print("FAIL train steps logged: expected 1..%d, got %d records" % (steps, len(got)))
        fails += 1
    worst = 0.0
    for (s, g), want in zip(got, losses):
        worst = max(worst, abs(g - want) / abs(want))
    ok = worst < 1e-4 and len(got) == steps
    print("%s train_loss every step vs torch: worst rel err %.2e (tolerance 1e-4)" % ("PASS" if ok else "FAIL", worst))
    fails += not ok
    _, wg = ref.load_model_dir(os.path.join(out_dir, "model"))
    # The key part of c_attn.bias has a gradient that is exactly zero in exact arithmetic
    # (adding a constant to every key of a row leaves the softmax unchanged), so it is
    # rounding noise in both implementations, and AdamW turns noise of any size into
    # updates of up to lr * g / (|g| + eps). Those slices are compared separately with an
    # absolute bound; everything else to 1e-4 relative.
    C = cfg["n_embd"]
    worst_w, worst_name, worst_kb = 0.0, "", 0.0
    for n in ref.param_names(cfg):
        a, b = wg[n], p[n].detach().numpy()
        if n.endswith("attn.c_attn.bias"):
            worst_kb = max(worst_kb, float(np.abs(a[C:2 * C] - b[C:2 * C]).max()))
            a, b = np.concatenate([a[:C], a[2 * C:]]), np.concatenate([b[:C], b[2 * C:]])
        e = ref.relerr(a, b)
        if e > worst_w:
            worst_w, worst_name = e, n
    ok = worst_w < 1e-4
    print("%s final weights vs torch after %d steps: worst rel err %.2e (%s; tolerance 1e-4)" %
          ("PASS" if ok else "FAIL", steps, worst_w, worst_name))
    fails += not ok
    ok = worst_kb <= lr * steps
    print("%s key bias (zero gradient in exact arithmetic) within lr * steps: max abs diff %.2e" %
          ("PASS" if ok else "FAIL", worst_kb))
    fails += not ok
    sys.exit(1 if fails else 0)


if __name__ == "__main__":
    main()
