# run_compare.py A B TOL [NAME]: two training run directories give the same run: every
# metrics.jsonl value (train_loss, val_loss, grad_norm, lr, a task metric) at every step
# and the weights of model/model.safetensors (and adapter_model.safetensors) agree within
# relative TOL: the whole model in the 2-norm, ||a - b|| / ||b|| over all tensors, within
# TOL, and each matrix within 10 TOL, each 1-D tensor within 30 TOL (a small tensor that
# starts at zero, as a layer norm's bias, holds only AdamW's lr-sized steps, and where its
# gradients are near zero the steps turn rounding noise into visible differences: t_mpi's
# classification fine-tune with seed 92939 ends with h.0.ln_1.bias at 1.47e-4 of its norm
# for TOL 1e-5, in builds before and after the Zen 4 kernel changes alike; a single
# element may differ more still); TOL 0 means bit-identical. Prints PASS/FAIL lines.
# Not compared within TOL: the key third of attn.c_attn.bias (BERT's
# attention.self.key.bias, Marian's self_attn/encoder_attn k_proj.bias). Its gradient is zero in
# exact arithmetic (softmax is invariant to a constant added to all of a query's
# scores), so what it holds is rounding noise that AdamW normalizes into lr-sized steps:
# two correct runs that add in different orders end with unrelated values there.
import json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import numpy as np
from gpt2_torch import st_read

a, b, tol = sys.argv[1], sys.argv[2], float(sys.argv[3])
name = sys.argv[4] if len(sys.argv) > 4 else "%s == %s" % (os.path.basename(a), os.path.basename(b))
SKIP = {"tokens_per_s", "elapsed_s", "step", "allreduce_s"} # times, and the exchange time of several ranks

def rows(d):
    out = []
    for ln in open(os.path.join(d, "metrics.jsonl")):
        out.append(json.loads(ln))
    return out

def rel(x, y):
    return abs(x - y) / max(abs(y), 1e-30)

ra, rb = rows(a), rows(b)
why = ""
if len(ra) != len(rb):
    why = "metrics.jsonl has %d lines and %d lines" % (len(ra), len(rb))
worst = 0.0
for x, y in zip(ra, rb):
    if why: break
    if x.get("step") != y.get("step") or set(x) - SKIP != set(y) - SKIP:
        why = "metrics lines differ: %s vs %s" % (x, y); break
    for k in x:
        if k in SKIP: continue
        e = rel(x[k], y[k])
        worst = max(worst, e)
        if (tol == 0 and x[k] != y[k]) or e > tol:
            why = "step %d %s: %r vs %r (rel %.3g)" % (x["step"], k, x[k], y[k], e); break
wa = st_read(os.path.join(a, "model", "model.safetensors"))
wb = st_read(os.path.join(b, "model", "model.safetensors"))
for d, w in ((a, wa), (b, wb)): # a LoRA run's adapter beside its base
    ad = os.path.join(d, "model", "adapter_model.safetensors")
    if os.path.exists(ad):
        w.update({"adapter." + k: v for k, v in st_read(ad).items()})
if not why and set(wa) != set(wb): why = "the models' tensor names differ"
sum_d = sum_y = worst_t = 0.0
for k in sorted(wa):
    if why: break
    x, y = np.asarray(wa[k], np.float64), np.asarray(wb[k], np.float64)
    if tol == 0:
        if not np.array_equal(x, y): why = "tensor %s differs" % k
        continue
    if k.endswith("attn.c_attn.bias") and x.ndim == 1 and x.size % 3 == 0:
        c = x.size // 3
        x, y = np.concatenate([x[:c], x[2 * c:]]), np.concatenate([y[:c], y[2 * c:]])
    if k.endswith("attention.self.key.bias") or k.endswith("attn.k_proj.bias"):
        continue # the same: BERT's and Marian's separate key biases
    dd, yy = float(np.sum((x - y) ** 2)), float(np.sum(y ** 2))
    sum_d, sum_y = sum_d + dd, sum_y + yy
    e = (dd ** 0.5) / max(yy ** 0.5, 1e-30)
    worst_t = max(worst_t, e)
    lim = (10 if x.ndim > 1 else 30) * tol
    if e > lim: why = "tensor %s: rel %.3g (each %s within %g)" % (k, e, "matrix" if x.ndim > 1 else "1-D tensor", lim)
glob = (sum_d ** 0.5) / max(sum_y ** 0.5, 1e-30)
if not why and tol > 0 and glob > tol: why = "the whole model: rel %.3g" % glob
if why: print("FAIL %s: %s" % (name, why))
else: print("PASS %s (worst rel %.2g over %d metrics lines; weights: whole model %.2g, worst tensor %.2g of %d)"
            % (name, worst, len(ra), glob, worst_t, len(wa)))
