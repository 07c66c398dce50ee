# torch_marian.py: the PyTorch twin of bench/bench_marian.c: an encoder-decoder
# (MarianMTModel) teacher-forced forward (torch.no_grad) and a training step (forward +
# backward + clip_grad_norm_ + torch.optim.AdamW) in float32, target tokens/s, with the
# model of tests/ref/marian_torch.py (modeling_marian's math written out), the same
# padding and labels. Threads as given and OMP_WAIT_POLICY=PASSIVE (set before torch
# loads). Last line: RESULT impl=torch ...
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import marian_torch  # noqa: E402

# layers per side, d_model, heads, ffn, positions (gptc_config_preset's)
PRESETS = {"marian-tiny": (2, 64, 2, 128, 128), "marian-small": (3, 256, 4, 1024, 256),
           "transformer-base": (6, 512, 8, 2048, 512)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="marian-small", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--src", type=int, default=48)
    ap.add_argument("--tgt", type=int, default=48)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    L, C, H, Fd, P = PRESETS[a.preset]
    V, B, S, T = a.vocab, a.batch, a.src, a.tgt
    cfg = {"vocab_size": V, "d_model": C, "encoder_layers": L, "decoder_layers": L, "encoder_attention_heads": H,
           "decoder_attention_heads": H, "encoder_ffn_dim": Fd, "decoder_ffn_dim": Fd, "max_position_embeddings": P,
           "activation_function": "gelu", "scale_embedding": a.preset == "transformer-base", "pad_token_id": V - 1}
    p = {}
    for n in marian_torch.param_names(cfg):
        s = marian_torch.shape_of(cfg, n)
        t = torch.ones(s) if n.endswith("layer_norm.weight") else \
            torch.zeros(s) if n.endswith(".bias") or n == "final_logits_bias" else torch.randn(s) * 0.02
        p[n] = t.requires_grad_(n != "final_logits_bias")
    pos_s, pos_t = torch.arange(S), torch.arange(T)
    real = (pos_s < S - S // 4).expand(B, S)
    src = torch.where(real, torch.randint(0, V - 1, (B, S)), torch.full((B, S), V - 1))
    labels = torch.where((pos_t < T - T // 8).expand(B, T), torch.randint(0, V - 1, (B, T)), torch.full((B, T), -100))
    dec = torch.cat([torch.full((B, 1), V - 1), labels[:, :-1]], 1)
    dec = torch.where(dec == -100, torch.full_like(dec, V - 1), dec)
    b = {"src": src, "src_mask": real.long(), "dec": dec, "labels": labels}
    with torch.no_grad():
        marian_torch.marian_forward(cfg, p, b)
        t0 = time.time()
        for _ in range(a.steps):
            marian_torch.marian_forward(cfg, p, b)
        fwd = (time.time() - t0) / a.steps
    train = [v for k, v in p.items() if k != "final_logits_bias"]
    opt = torch.optim.AdamW(train, lr=1e-4)
    total = 0
    for s in range(a.steps + 1):
        t1 = time.time()
        opt.zero_grad(set_to_none=True)
        _, loss = marian_torch.marian_forward(cfg, p, b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(train, 1.0)
        opt.step()
        if s:
            total += time.time() - t1
    step = total / a.steps
    N = B * T
    print("RESULT impl=torch preset=%s batch=%d src=%d tgt=%d forward_ms=%.1f forward_tok_s=%.0f step_ms=%.1f "
          "step_tok_s=%.0f loss=%.4f" % (a.preset, B, S, T, fwd * 1e3, N / fwd, step * 1e3, N / step, float(loss)))


if __name__ == "__main__":
    main()
