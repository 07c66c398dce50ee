# torch_bert.py: the PyTorch twin of bench/bench_bert.c: a BERT encoder's forward
# (torch.no_grad) and a BertForPreTraining training step (forward + backward +
# clip_grad_norm_ + torch.optim.AdamW) in float32, tokens/s at batch x seq, with the model
# of tests/ref/bert_torch.py (modeling_bert's math written out), the same padding mask
# and labels. 2 threads and OMP_WAIT_POLICY=PASSIVE (set before torch loads).
# Last line: RESULT impl=torch ...
import os
import sys

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import argparse  # noqa: E402
import time  # noqa: E402

import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import bert_torch  # noqa: E402

PRESETS = {"bert-tiny": (2, 2, 128), "bert-mini": (4, 4, 256), "bert-small": (4, 8, 512), "bert-base": (12, 12, 768)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="bert-mini", choices=sorted(PRESETS))
    ap.add_argument("--vocab", type=int, default=30522)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    L, H, C = PRESETS[a.preset]
    V, B, T = a.vocab, a.batch, a.seq
    cfg = {"architectures": ["BertForPreTraining"], "vocab_size": V, "hidden_size": C, "num_hidden_layers": L,
           "num_attention_heads": H, "intermediate_size": 4 * C, "hidden_act": "gelu", "layer_norm_eps": 1e-12,
           "max_position_embeddings": 512, "type_vocab_size": 2}
    shapes = {"embeddings.word_embeddings.weight": (V, C), "embeddings.position_embeddings.weight": (512, C),
              "embeddings.token_type_embeddings.weight": (2, C), "cls.predictions.bias": (V,),
              "cls.seq_relationship.weight": (2, C), "cls.seq_relationship.bias": (2,)}
    p = {}
    for n in bert_torch.param_names(cfg):
        if n in shapes:
            s = shapes[n]
        elif "intermediate.dense" in n:
            s = (4 * C, C) if n.endswith("weight") else (4 * C,)
        elif n.endswith("output.dense.weight") and "attention" not in n:
            s = (C, 4 * C)
        else:
            s = (C, C) if n.endswith("dense.weight") or ".self." in n and n.endswith("weight") else (C,)
        t = torch.ones(s) if n.endswith("LayerNorm.weight") else torch.randn(s) * 0.02
        p[n] = t.requires_grad_(True)
    pos = torch.arange(T)
    real = pos < T - T // 8
    tok = torch.randint(0, V, (B, T)) * real
    b = {"tokens": tok, "types": (pos >= T // 2).long().expand(B, T), "mask": real.long().expand(B, T),
         "targets": torch.where(real & (torch.rand(B, T) < 0.15), tok, torch.full((B, T), -100)),
         "nsp": torch.arange(B) % 2}
    with torch.no_grad():
        bert_torch.bert_forward(cfg, p, b)
        t0 = time.time()
        for _ in range(a.steps):
            bert_torch.bert_forward(cfg, p, b)
        fwd = (time.time() - t0) / a.steps
    opt = torch.optim.AdamW(list(p.values()), lr=1e-4)
    total = 0
    for s in range(a.steps + 1):
        t1 = time.time()
        opt.zero_grad(set_to_none=True)
        _, loss, _ = bert_torch.bert_forward(cfg, p, b)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(p.values()), 1.0)
        opt.step()
        if s:
            total += time.time() - t1
    step = total / a.steps
    N = B * T
    print("RESULT impl=torch preset=%s batch=%d seq=%d forward_ms=%.1f forward_tok_s=%.0f step_ms=%.1f "
          "step_tok_s=%.0f loss=%.4f" % (a.preset, B, T, fwd * 1e3, N / fwd, step * 1e3, N / step, float(loss)))


if __name__ == "__main__":
    main()
