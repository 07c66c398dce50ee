# torch_decode.py: the PyTorch side of bench_decode: GPT-2 with random float32 weights and
# a KV cache (past keys/values preallocated per layer, as transformers' static cache):
# prompt processing of a 512-token prompt and batch-1 greedy decoding, tokens/s.
# Run as `OMP_WAIT_POLICY=PASSIVE /usr/bin/python3 bench/torch_decode.py --preset gpt2`
# (Debian's PyTorch otherwise loses time to its own spinning OpenMP threads).
# Prints: RESULT impl=torch config=NAME prefill_tok_s=.. decode_tok_s=..
import argparse
import math
import os
import time

import torch
import torch.nn.functional as F

PRESETS = {"gpt2": (12, 12, 768), "gpt2-medium": (24, 16, 1024)}


def make(L, NH, C, V, P):
    g = torch.Generator().manual_seed(1)
    r = lambda *s: torch.randn(*s, generator=g) * 0.02  # noqa: E731
    w = {"wte": r(V, C), "wpe": r(P, C), "lnf_w": torch.ones(C), "lnf_b": torch.zeros(C), "h": []}
    for _ in range(L):
        w["h"].append({"ln1_w": torch.ones(C), "ln1_b": torch.zeros(C), "attn_w": r(C, 3 * C), "attn_b": torch.zeros(3 * C),
                       "proj_w": r(C, C), "proj_b": torch.zeros(C), "ln2_w": torch.ones(C), "ln2_b": torch.zeros(C),
                       "fc_w": r(C, 4 * C), "fc_b": torch.zeros(4 * C), "fcp_w": r(4 * C, C), "fcp_b": torch.zeros(C)})
    return w


def forward(w, NH, tokens, pos0, kc, vc, mask):
    """tokens (T,) at positions pos0.. ; kc/vc[l] (NH, P, hd) caches filled up to pos0."""
    T = tokens.shape[0]
    C = w["wte"].shape[1]
    hd = C // NH
    x = w["wte"][tokens] + w["wpe"][pos0:pos0 + T]
    for l, b in enumerate(w["h"]):
        h = F.layer_norm(x, (C,), b["ln1_w"], b["ln1_b"], 1e-5)
        q, k, v = torch.addmm(b["attn_b"], h, b["attn_w"]).split(C, dim=1)
        q = q.view(T, NH, hd).transpose(0, 1)
        kc[l][:, pos0:pos0 + T] = k.view(T, NH, hd).transpose(0, 1)
        vc[l][:, pos0:pos0 + T] = v.view(T, NH, hd).transpose(0, 1)
        K, Vv = kc[l][:, :pos0 + T], vc[l][:, :pos0 + T]
        att = q @ K.transpose(-2, -1) / math.sqrt(hd)
        if T > 1:  # causal mask over the new rows
            att = att.masked_fill(~mask[pos0:pos0 + T, :pos0 + T], float("-inf"))
        y = torch.softmax(att, -1) @ Vv
        y = y.transpose(0, 1).reshape(T, C)
        x = x + torch.addmm(b["proj_b"], y, b["proj_w"])
        h = F.layer_norm(x, (C,), b["ln2_w"], b["ln2_b"], 1e-5)
        h = F.gelu(torch.addmm(b["fc_b"], h, b["fc_w"]), approximate="tanh")
        x = x + torch.addmm(b["fcp_b"], h, b["fcp_w"])
    x = F.layer_norm(x[-1:], (C,), w["lnf_w"], w["lnf_b"], 1e-5)
    return x @ w["wte"].t()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="gpt2", choices=sorted(PRESETS))
    ap.add_argument("--prompt", type=int, default=512)
    ap.add_argument("--steps", type=int, default=64)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    L, NH, C = PRESETS[a.preset]
    V, P = 50257, 1024
    w = make(L, NH, C, V, P)
    kc = [torch.zeros(NH, P, C // NH) for _ in range(L)]
    vc = [torch.zeros(NH, P, C // NH) for _ in range(L)]
    mask = torch.ones(P, P, dtype=torch.bool).tril()
    toks = torch.tensor([(i * 7919 + 13) % V for i in range(a.prompt)])
    with torch.inference_mode():
        best = 1e30
        for _ in range(3):
            t0 = time.perf_counter()
            forward(w, NH, toks, 0, kc, vc, mask)
            best = min(best, time.perf_counter() - t0)
        logits = forward(w, NH, toks[:16], 0, kc, vc, mask)
        pos, t0 = 16, 0.0
        for i in range(a.steps + 1):
            if i == 1:
                t0 = time.perf_counter()
            nxt = logits[0].argmax().view(1)
            logits = forward(w, NH, nxt, pos, kc, vc, mask)
            pos += 1
        dec = (time.perf_counter() - t0) / a.steps
    print("torch %s: %d threads, prefill %d tokens %.1f ms, decode %.2f ms/token" % (
        a.preset, a.threads, a.prompt, best * 1e3, dec * 1e3))
    print("RESULT impl=torch config=%s prefill_tok_s=%.1f decode_tok_s=%.2f" % (a.preset, a.prompt / best, 1 / dec))


if __name__ == "__main__":
    main()
