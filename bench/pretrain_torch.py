# pretrain_torch.py: the PyTorch side of bench/bench_pretrain.sh: the same pre-training
# job as `gptc train --loader sequential` (same initial weights, same tokens in the same
# order, AdamW, Hugging Face's cosine schedule with warmup, clipping, no dropout), timed
# end to end; then the mean loss over the same validation windows. Prints one line:
#   RESULT seconds=S val_loss=L
# usage: pretrain_torch.py INIT_DIR DATA_DIR B T STEPS LR WARMUP VAL_BATCHES THREADS
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "ref"))
import gpt2_torch as ref  # noqa: E402
import train_torch  # noqa: E402

ref.need_torch()
import torch  # noqa: E402


def main():
    init_dir, data_dir, B, T, steps, lr, warmup, val_batches, threads = sys.argv[1:10]
    B, T, steps, warmup, val_batches, lr = int(B), int(T), int(steps), int(warmup), int(val_batches), float(lr)
    torch.set_num_threads(int(threads))
    cfg, w = ref.load_model_dir(init_dir)
    p = ref.make_params(cfg, w, torch.float32)
    decay, no_decay = ref.adamw_groups(cfg, p)
    data = train_torch.read_shard(os.path.join(data_dir, "train.bin"))
    val = train_torch.read_shard(os.path.join(data_dir, "val.bin"))
    t0 = time.perf_counter()
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": no_decay, "weight_decay": 0.0}],
                            lr=lr, betas=(0.9, 0.95), eps=1e-8)
    sch = torch.optim.lr_scheduler.LambdaLR(opt, train_torch.hf_lambda("cosine", warmup, steps, 0.0))
    pos = 0
    for _ in range(steps):
        opt.zero_grad(set_to_none=True)
        if pos + B * T + 1 > len(data):
            pos = 0
        chunk = torch.from_numpy(data[pos:pos + B * T + 1])
        pos += B * T
        _, loss = ref.gpt2_forward(cfg, p, chunk[:-1].view(B, T), chunk[1:].view(B, T))
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p[n] for n in ref.param_names(cfg)], 1.0)
        opt.step()
        sch.step()
    secs = time.perf_counter() - t0
    # validation: consecutive windows of T + 1 tokens from the start, B rows per batch
    total, count = 0.0, 0
    with torch.no_grad():
        for b in range(val_batches):
            rows = []
            for r in range(B):
                s = (b * B + r) * T
                if s + T + 1 > len(val):
                    break
                rows.append(val[s:s + T + 1])
            if not rows:
                break
            x = torch.from_numpy(np.stack(rows))
            _, loss = ref.gpt2_forward(cfg, p, x[:, :-1], x[:, 1:])
            total += loss.item() * len(rows)
            count += len(rows)
    print("RESULT seconds=%.2f val_loss=%.4f" % (secs, total / count))


if __name__ == "__main__":
    main()
