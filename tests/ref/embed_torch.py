# embed_torch.py: the reference of `gptc serve`'s /v1/embeddings (tests/t_serve.sh): the
# mean over positions of the final hidden states (after ln_f) of the plain PyTorch GPT-2
# of gpt2_torch.py in float64. Reads {"inputs": [[ids]], "embeddings": [[floats]]} and
# prints one PASS/FAIL line per input. Run with /usr/bin/python3.
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_torch as g  # noqa: E402

# float32 forward against float64: ~1e-6 relative for these sizes; 1e-5 still catches a
# wrong pooling, a missing ln_f or a wrong position
TOL = 1e-5


def main():
    model, got_path, tag = sys.argv[1], sys.argv[2], sys.argv[3]
    g.need_torch()
    torch = g.torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg, w = g.load_model_dir(model)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    got = json.load(open(got_path))
    bad = 0
    for i, (ids, emb) in enumerate(zip(got["inputs"], got["embeddings"])):
        h = g.gpt2_forward(cfg, p, torch.tensor([ids], dtype=torch.int64), hidden=True)[0].mean(dim=0)
        e = torch.tensor(emb, dtype=torch.float64)
        err = float((e - h).norm() / h.norm()) if e.shape == h.shape else float("inf")
        name = "%s: input %d (%d tokens) == torch mean of ln_f states" % (tag, i, len(ids))
        if err < TOL:
            print("PASS %s (relative error %.2g)" % (name, err))
        else:
            bad += 1
            print("FAIL %s: relative error %.3g (tolerance %g)" % (name, err, TOL))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
