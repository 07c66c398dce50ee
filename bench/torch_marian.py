# torch_marian.py: the PyTorch twin of bench/bench_marian.c: an encoder-decoder
# (MarianMTModel) teacher-forced forward (torch.no_grad) and a training step (forward +
# backward + clip_grad_norm_ + torch.optim.AdamW) in float32, target tokens/s, with the
# model of tests/ref/marian_torch.py (modeling_marian's math written out), the same
# padding and labels. Threads as given and OMP_WAIT_POLICY=PASSIVE (set before torch
# loads). Last line: RESULT impl=torch ...
# --task translate: bench_marian.c's batched translation: the same sources (sorted by
# length, batches of --batch padded under the mask), the encoder once over each padded
# batch, then a decoding loop with a KV cache (self-attention keys and values appended
# per step, cross-attention keys and values computed once), greedy and then beam search
# with 4 beams (log_softmax + beam scores, top 2 x 4 of the 4 x V candidates per
# sentence as HF's beam search, the cache reordered by beam); no eos, so every sentence
# decodes --max-new tokens, as on gptc's side. --model DIR: the weights bench_marian
# --save DIR wrote (the same model on both sides; --preset and --vocab are then read from
# its config.json); sentence 0's greedy and beam tokens are printed (greedy_first,
# beam4_first).
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import marian_torch  # noqa: E402

# layers per side, d_model, heads, ffn, positions (gptc_config_preset's)
PRESETS = {"marian-tiny": (2, 64, 2, 128, 128), "marian-small": (3, 256, 4, 1024, 256),
           "transformer-base": (6, 512, 8, 2048, 512)}


def translate_batch(cfg, p, srcs, max_new, beams):
    """Greedy (beams 1) or beam search of a batch of sources (lists of ids) with a KV
    cache; returns the new tokens (B * beams, max_new) of the best... all beams."""
    d = marian_torch.dims(cfg)
    C, V, H = d["C"], d["V"], d["DH"]
    hs = C // H
    pad = cfg["pad_token_id"]
    lin = lambda x, n: x @ p[n + ".weight"].t() + p[n + ".bias"]  # noqa: E731
    ln = lambda x, n: F.layer_norm(x, (C,), p[n + ".weight"], p[n + ".bias"], 1e-5)  # noqa: E731
    act = marian_torch.ACT[cfg["activation_function"]]
    scale = math.sqrt(C) if cfg["scale_embedding"] else 1.0
    pos = marian_torch.sinusoid(d["P"], C)
    neg = torch.finfo(torch.float32).min
    B, S = len(srcs), max(len(x) for x in srcs)
    src = torch.full((B, S), pad, dtype=torch.long)
    mask = torch.zeros(B, S)
    for i, x in enumerate(srcs):
        src[i, :len(x)] = torch.tensor(x)
        mask[i, :len(x)] = 1
    key_add = (1.0 - mask[:, None, None, :]) * neg
    w_enc = p["shared.weight"] if marian_torch.shared(cfg) else p["encoder.embed_tokens.weight"]
    w = p["shared.weight"] if marian_torch.shared(cfg) else p["decoder.embed_tokens.weight"]
    head = w if marian_torch.tied(cfg) else p["lm_head.weight"]

    def heads(x):  # (N, T, C) -> (N, H, T, hs)
        return x.view(x.shape[0], x.shape[1], H, hs).transpose(1, 2)

    def attend(q, k, v, add):
        a = torch.softmax(q @ k.transpose(-1, -2) + add, dim=-1) @ v
        return a.transpose(1, 2).reshape(q.shape[0], q.shape[2], C)

    x = F.embedding(src, w_enc, padding_idx=pad) * scale + pos[:S][None]
    for l in range(d["EL"]):
        P = "encoder.layers.%d." % l
        q = heads(lin(x, P + "self_attn.q_proj") * hs ** -0.5)
        a = attend(q, heads(lin(x, P + "self_attn.k_proj")), heads(lin(x, P + "self_attn.v_proj")), key_add)
        x = ln(x + lin(a, P + "self_attn.out_proj"), P + "self_attn_layer_norm")
        x = ln(x + lin(act(lin(x, P + "fc1")), P + "fc2"), P + "final_layer_norm")
    # every beam of a sentence: its rows repeated (HF's _expand_inputs_for_generation)
    enc = x.repeat_interleave(beams, 0)
    xadd = key_add.repeat_interleave(beams, 0)
    xk = [heads(lin(enc, "decoder.layers.%d.encoder_attn.k_proj" % l)) for l in range(d["DL"])]
    xv = [heads(lin(enc, "decoder.layers.%d.encoder_attn.v_proj" % l)) for l in range(d["DL"])]
    N = B * beams
    k_cache, v_cache = [None] * d["DL"], [None] * d["DL"]
    tok = torch.full((N,), cfg["decoder_start_token_id"], dtype=torch.long)
    out = torch.empty(N, 0, dtype=torch.long)
    score = torch.zeros(B, beams)
    score[:, 1:] = -1e9
    score = score.view(-1)
    for t in range(max_new):
        h = F.embedding(tok[:, None], w, padding_idx=pad) * scale + pos[t][None, None]
        for l in range(d["DL"]):
            P = "decoder.layers.%d." % l
            q = heads(lin(h, P + "self_attn.q_proj") * hs ** -0.5)
            k, v = heads(lin(h, P + "self_attn.k_proj")), heads(lin(h, P + "self_attn.v_proj"))
            k_cache[l] = k if k_cache[l] is None else torch.cat([k_cache[l], k], 2)
            v_cache[l] = v if v_cache[l] is None else torch.cat([v_cache[l], v], 2)
            h = ln(h + lin(attend(q, k_cache[l], v_cache[l], 0.0), P + "self_attn.out_proj"), P + "self_attn_layer_norm")
            q = heads(lin(h, P + "encoder_attn.q_proj") * hs ** -0.5)
            h = ln(h + lin(attend(q, xk[l], xv[l], xadd), P + "encoder_attn.out_proj"), P + "encoder_attn_layer_norm")
            h = ln(h + lin(act(lin(h, P + "fc1")), P + "fc2"), P + "final_layer_norm")
        logits = h[:, 0] @ head.t() + p["final_logits_bias"]
        if beams == 1:
            tok = logits.argmax(-1)
            out = torch.cat([out, tok[:, None]], 1)
            continue
        lp = torch.log_softmax(logits, -1) + score[:, None]
        top, idx = torch.topk(lp.view(B, beams * V), 2 * beams, dim=1)  # HF: 2 x beams candidates
        top, idx = top[:, :beams], idx[:, :beams]  # no eos: the first beams continue
        parent = (idx // V + torch.arange(B)[:, None] * beams).view(-1)
        tok = (idx % V).view(-1)
        score = top.reshape(-1)
        out = torch.cat([out[parent], tok[:, None]], 1)
        for l in range(d["DL"]):  # HF's _reorder_cache
            k_cache[l], v_cache[l] = k_cache[l][parent], v_cache[l][parent]
    return out


def translate_main(a, cfg, p):
    n, lo, hi, V = a.sentences, a.min_src, a.max_src, a.vocab
    srcs = [[1 + (131 * i + 17 * t) % (V - 2) for t in range(lo + (7 * i) % (hi - lo + 1) - 1)] + [0] for i in range(n)]
    order = sorted(range(n), key=lambda i: (len(srcs[i]), i))
    res, first = {}, {}
    for beams, name in ((1, "greedy"), (4, "beam4")):
        total = 0.0
        with torch.no_grad():
            for s in range(a.steps + 1):
                t0 = time.time()
                toks = 0
                for b0 in range(0, n, a.batch):
                    out = translate_batch(cfg, p, [srcs[i] for i in order[b0:b0 + a.batch]], a.max_new, beams)
                    if 0 in order[b0:b0 + a.batch]:  # sentence 0's tokens (its best beam: the first)
                        first[name] = out[order[b0:b0 + a.batch].index(0) * beams].tolist()
                    toks += out.shape[1] * (out.shape[0] // beams)
                if s:
                    total += time.time() - t0
        res[name] = (total / a.steps, toks)
    g, b = res["greedy"], res["beam4"]
    for name in ("greedy", "beam4"):
        print(name + "_first " + " ".join(map(str, first[name])))
    print("RESULT impl=torch task=translate preset=%s sentences=%d src=%d-%d batch=%d max_new=%d greedy_s=%.3f "
          "greedy_sent_s=%.2f greedy_tok_s=%.0f beam4_s=%.3f beam4_sent_s=%.2f beam4_tok_s=%.0f"
          % (a.preset, n, lo, hi, a.batch, a.max_new, g[0], n / g[0], g[1] / g[0], b[0], n / b[0], b[1] / b[0]))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--task", default="train", choices=["train", "translate"])
    ap.add_argument("--sentences", type=int, default=64)
    ap.add_argument("--min-src", type=int, default=20)
    ap.add_argument("--max-src", type=int, default=40)
    ap.add_argument("--max-new", type=int, default=32)
    ap.add_argument("--model", default=None)
    ap.add_argument("--preset", default="marian-small", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=8000)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--src", type=int, default=48)
    ap.add_argument("--tgt", type=int, default=48)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    for name in ("vocab", "batch", "src", "tgt", "steps", "threads", "sentences", "min_src", "max_new"):
        if getattr(a, name) < (3 if name == "vocab" else 1):
            ap.error("--%s must be at least %d" % (name.replace("_", "-"), 3 if name == "vocab" else 1))
    if a.max_src < a.min_src:
        ap.error("--max-src must be at least --min-src")
    if a.task == "translate" and max(a.max_src, a.max_new + 1) > PRESETS[a.preset][4]:
        ap.error("--max-src and --max-new + 1 must fit the preset's %d positions" % PRESETS[a.preset][4])
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    L, C, H, Fd, P = PRESETS[a.preset]
    V, B, S, T = a.vocab, a.batch, a.src, a.tgt
    cfg = {"vocab_size": V, "d_model": C, "encoder_layers": L, "decoder_layers": L, "encoder_attention_heads": H,
           "decoder_attention_heads": H, "encoder_ffn_dim": Fd, "decoder_ffn_dim": Fd, "max_position_embeddings": P,
           "activation_function": "gelu", "scale_embedding": a.preset == "transformer-base", "pad_token_id": V - 1,
           "decoder_start_token_id": V - 1}
    p = {}
    for n in marian_torch.param_names(cfg):
        s = marian_torch.shape_of(cfg, n)
        t = torch.ones(s) if n.endswith("layer_norm.weight") else \
            torch.zeros(s) if n.endswith(".bias") or n == "final_logits_bias" else torch.randn(s) * 0.02
        p[n] = t.requires_grad_(n != "final_logits_bias" and a.task == "train")
    if a.task == "translate":
        if a.model:
            cfg, w = marian_torch.load_model_dir(a.model)
            cfg.setdefault("decoder_start_token_id", cfg["pad_token_id"])
            a.vocab = cfg["vocab_size"]
            p = {k: torch.tensor(v) for k, v in w.items()}
        return translate_main(a, cfg, p)
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
