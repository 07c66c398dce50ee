# torch_train.py: the PyTorch twin of bench/bench_train.c: one GPT-2 training step
# (forward + backward + clip_grad_norm_ + torch.optim.AdamW) in float32 on random tokens,
# with the model of tests/ref/gpt2_torch.py. PyTorch runs at its best here: 2 threads
# (torch.set_num_threads) and OMP_WAIT_POLICY=PASSIVE, which must be set before torch loads.
# Last line: RESULT impl=torch ... (same fields and FLOP formula as bench_train.c).
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import gpt2_torch  # noqa: E402

gpt2_torch.need_torch()

PRESETS = {"tiny": (2, 2, 64, 128), "small": (4, 4, 256, 256), "gpt2": (12, 12, 768, 1024)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="gpt2", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1337)
    L, H, C, P = PRESETS[a.preset]
    V, B, T = a.vocab, a.batch, a.seq
    cfg = {"n_layer": L, "n_head": H, "n_embd": C, "n_positions": P, "vocab_size": V,
           "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
    p = {}
    for n in gpt2_torch.param_names(cfg):
        if n == "wte.weight":
            shape = (V, C)
        elif n == "wpe.weight":
            shape = (P, C)
        else:
            suffix = n.split(".", 2)[-1] if n.startswith("h.") else n
            shape = {"ln_1.weight": (C,), "ln_1.bias": (C,), "ln_2.weight": (C,), "ln_2.bias": (C,),
                     "attn.c_attn.weight": (C, 3 * C), "attn.c_attn.bias": (3 * C,),
                     "attn.c_proj.weight": (C, C), "attn.c_proj.bias": (C,),
                     "mlp.c_fc.weight": (C, 4 * C), "mlp.c_fc.bias": (4 * C,),
                     "mlp.c_proj.weight": (4 * C, C), "mlp.c_proj.bias": (C,),
                     "ln_f.weight": (C,), "ln_f.bias": (C,)}[suffix]
        t = torch.ones(shape) if n.endswith("ln_1.weight") or n.endswith("ln_2.weight") or n == "ln_f.weight" \
            else (torch.randn(shape) * 0.02 if len(shape) == 2 else torch.zeros(shape))
        p[n] = t.requires_grad_(True)
    decay, no_decay = gpt2_torch.adamw_groups(cfg, p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=1e-4)
    tok = torch.randint(0, V, (B, T))
    tgt = torch.roll(tok, -1, dims=1)
    params = list(p.values())
    total, best = 0.0, float("inf")
    for it in range(a.warmup + a.steps):
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        _, loss = gpt2_torch.gpt2_forward(cfg, p, tok, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        dt = time.perf_counter() - t0
        if it >= a.warmup:
            total += dt
            best = min(best, dt)
        print("torch %s step %d: %.1f ms, loss %.4f%s" % (a.preset, it + 1, dt * 1e3, loss.item(),
                                                           " (warmup)" if it < a.warmup else ""), file=sys.stderr)
    sec = best  # best step, as bench_train.c: the machine may be shared
    n_params = sum(t.numel() for t in params)
    p_mm = L * (12 * C * C) + V * C
    flops = 6.0 * B * T * p_mm + 6.0 * L * B * T * T * C
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print("torch %s: %s threads (torch.set_num_threads), OMP_WAIT_POLICY=%s, batch %d x %d, %d params" % (
        torch.__version__, torch.get_num_threads(), os.environ.get("OMP_WAIT_POLICY"), B, T, n_params))
    print("RESULT impl=torch config=%s B=%d T=%d params=%d ms=%.1f ms_mean=%.1f tok_s=%.1f gflops=%.2f rss_mb=%.0f" % (
        a.preset, B, T, n_params, sec * 1e3, total / a.steps * 1e3, B * T / sec, flops / sec * 1e-9, rss_mb))


if __name__ == "__main__":
    main()
