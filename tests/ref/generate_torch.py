# generate_torch.py: reference decoding in PyTorch for tests/t_generate.sh, on the plain
# GPT-2 of gpt2_torch.py (whole prefix recomputed each step, float64): greedy decoding
# with HF's repetition penalty and no-repeat-ngram processors, beam search written out from
# Hugging Face's BeamSearchScorer / BeamHypotheses, and attention probabilities.
# Each subcommand compares with gptc's JSON output and prints PASS/FAIL lines.
# Run with /usr/bin/python3. Subcommands: greedy, beam, attention.
import argparse
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt2_torch as g  # noqa: E402


def params(model_dir):
    g.need_torch()
    torch = g.torch
    torch.set_num_threads(max(1, min(2, os.cpu_count() or 1)))
    cfg, w = g.load_model_dir(model_dir)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    return cfg, p


def last_logits(cfg, p, seqs):
    logits, _ = g.gpt2_forward(cfg, p, g.torch.tensor(seqs, dtype=g.torch.int64))
    return logits[:, -1, :]


def repetition_penalty(row, ids, pen):
    """RepetitionPenaltyLogitsProcessor on one row (every distinct id once)."""
    if pen == 1.0:
        return row
    idx = g.torch.tensor(sorted(set(ids)), dtype=g.torch.int64)
    s = row[idx]
    row[idx] = g.torch.where(s < 0, s * pen, s / pen)
    return row


def no_repeat_ngram(row, ids, n):
    """NoRepeatNGramLogitsProcessor on one row."""
    if n <= 0 or len(ids) + 1 < n:
        return row
    prefix = tuple(ids[len(ids) - n + 1:])
    for i in range(len(ids) - n + 1):
        if tuple(ids[i:i + n - 1]) == prefix:
            row[ids[i + n - 1]] = -math.inf
    return row


def report(ok, name, why):
    print(("PASS %s" % name) if ok else ("FAIL %s: %s" % (name, why)))
    sys.stdout.flush()
    return ok


def read_ids(path):
    with open(path) as f:
        return [int(x) for x in f.read().split()]


def cmd_greedy(a):
    cfg, p = params(a.model)
    prompt = read_ids(a.prompt)
    got = json.load(open(a.got))["sequences"][0]["token_ids"]
    ids, out, margins = list(prompt), [], []
    for _ in range(a.max_new_tokens):
        row = last_logits(cfg, p, [ids])[0]
        row = repetition_penalty(row, ids, a.repetition_penalty)
        row = no_repeat_ngram(row, ids, a.no_repeat_ngram_size)
        top = g.torch.topk(row, 2).values
        margins.append(float(top[0] - top[1]))
        t = int(g.torch.argmax(row))
        out.append(t)
        ids.append(t)
    k = next((i for i in range(min(len(out), len(got))) if out[i] != got[i]), None)
    if k is None and len(got) != len(out):
        return report(False, a.tag, "gptc made %d tokens, the reference %d" % (len(got), len(out)))
    if k is None:
        return report(True, "%s (%d tokens, smallest top-2 margin %.2g)" % (a.tag, len(out), min(margins)), "")
    # a divergence where the reference's top two are within float32 rounding is a tie
    if margins[k] < 1e-4:
        return report(True, "%s (identical up to a near-tie at token %d, margin %.2g)" % (a.tag, k, margins[k]), "")
    return report(False, a.tag, "token %d: gptc %d, reference %d (margin %.3g); gptc %s ref %s"
                  % (k, got[k], out[k], margins[k], got[:k + 1], out[:k + 1]))


def beam_search(cfg, p, prompt, nb, max_new, lp, early, eos, nret):
    """HF BeamSearchScorer for one prompt; returns [(score, generated tokens)] best first."""
    torch = g.torch
    P = len(prompt)
    beams = [list(prompt) for _ in range(nb)]
    scores = [0.0] + [-1e9] * (nb - 1)
    hyps, state = [], {"worst": 1e9}

    def add(tokens, sum_lp, gen_len):
        sc = sum_lp / (gen_len ** lp)
        if len(hyps) < nb or sc > state["worst"]:
            hyps.append((sc, tokens))
            if len(hyps) > nb:
                srt = sorted([(s, i) for i, (s, _) in enumerate(hyps)])
                del hyps[srt[0][1]]
                state["worst"] = srt[1][0]
            else:
                state["worst"] = min(sc, state["worst"])

    def is_done(best, gen_len):
        if len(hyps) < nb:
            return False
        if early is True:
            return True
        if early == "never" and lp > 0:
            return state["worst"] >= best / (max_new ** lp)
        return state["worst"] >= best / (gen_len ** lp)

    done = False
    for step in range(max_new):
        logp = torch.log_softmax(last_logits(cfg, p, beams), dim=-1)
        V = logp.shape[-1]
        flat = (logp + torch.tensor(scores, dtype=torch.float64)[:, None]).reshape(-1)
        keep = max(2, 1 + len(eos)) * nb
        vals, idx = torch.topk(flat, keep)
        gen_len = step + 1
        new = []
        for rank, (v, i) in enumerate(zip(vals.tolist(), idx.tolist())):
            b, t = divmod(i, V)
            if t in eos:
                if rank >= nb:
                    continue
                add(beams[b][P:] + [t], v, gen_len)
            else:
                new.append((v, b, t))
            if len(new) == nb:
                break
        done = is_done(vals[0].item(), gen_len)
        beams = [beams[b] + [t] for _, b, t in new]
        scores = [v for v, _, _ in new]
        if done:
            break
    if not done:
        for k in range(nb):
            add(beams[k][P:], scores[k], len(beams[k]) - P)
    srt = sorted(hyps, key=lambda x: x[0])
    return [srt.pop() for _ in range(nret)]


def cmd_beam(a):
    cfg, p = params(a.model)
    prompt = read_ids(a.prompt)
    got = json.load(open(a.got))["sequences"]
    early = {"true": True, "false": False, "never": "never"}[a.early_stopping]
    ref = beam_search(cfg, p, prompt, a.num_beams, a.max_new_tokens, a.length_penalty, early, a.eos, a.nret)
    ok = len(got) == len(ref)
    why = "%d sequences, reference %d" % (len(got), len(ref))
    n_eos = 0
    for i, (sc, toks) in enumerate(ref):
        if not ok:
            break
        n_eos += bool(toks and toks[-1] in a.eos)
        if got[i]["token_ids"] != toks:
            ok, why = False, "sequence %d: gptc %s, reference %s (score %.6g vs %.6g)" % (
                i, got[i]["token_ids"], toks, got[i]["score"], sc)
        elif abs(got[i]["score"] - sc) > 1e-4 * max(1.0, abs(sc)):
            ok, why = False, "sequence %d: score %.7g, reference %.7g" % (i, got[i]["score"], sc)
    return report(ok, "%s (%d sequences, %d ending in eos, lengths %s)" % (
        a.tag, len(ref), n_eos, [len(t) for _, t in ref]), why)


def cmd_attention(a):
    cfg, p = params(a.model)
    torch, F = g.torch, g.F
    toks = torch.tensor([read_ids(a.tokens)], dtype=torch.int64)
    got = json.load(open(a.got))
    B, T = toks.shape
    C, NH = cfg["n_embd"], cfg["n_head"]
    hd, eps = C // NH, cfg.get("layer_norm_epsilon", 1e-5)
    x = p["wte.weight"][toks] + p["wpe.weight"][torch.arange(T)][None]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for layer in range(got["layer"] + 1):
        gp = lambda s: p["h.%d.%s" % (layer, s)]  # noqa: E731
        h = F.layer_norm(x, (C,), gp("ln_1.weight"), gp("ln_1.bias"), eps)
        q, k, v = (h @ gp("attn.c_attn.weight") + gp("attn.c_attn.bias")).split(C, dim=2)
        q, k, v = (z.view(B, T, NH, hd).transpose(1, 2) for z in (q, k, v))
        att = ((q @ k.transpose(-2, -1)) / math.sqrt(hd)).masked_fill(~mask, float("-inf")).softmax(-1)
        y = (att @ v).transpose(1, 2).reshape(B, T, C)
        x = x + (y @ gp("attn.c_proj.weight") + gp("attn.c_proj.bias"))
        h = F.layer_norm(x, (C,), gp("ln_2.weight"), gp("ln_2.bias"), eps)
        h = g._act(h @ gp("mlp.c_fc.weight") + gp("mlp.c_fc.bias"), cfg.get("activation_function", "gelu_new"))
        x = x + (h @ gp("mlp.c_proj.weight") + gp("mlp.c_proj.bias"))
    ref = att[0].mean(0) if got["head"] is None else att[0, got["head"]]
    mine = torch.tensor(got["attention"], dtype=torch.float64)
    e = g.relerr(mine.numpy(), ref.numpy())
    rows = float((mine.sum(-1) - 1).abs().max())
    report(rows < 1e-5, "%s rows sum to one (max err %.2g)" % (a.tag, rows), "max |row sum - 1| = %.3g" % rows)
    return report(e < 1e-5, "%s == torch softmax(QK^T/sqrt(d)) (rel err %.2g)" % (a.tag, e), "rel err %.3g" % e)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("greedy", "beam", "attention"):
        s = sub.add_parser(name)
        s.add_argument("--model", required=True)
        s.add_argument("--got", required=True, help="gptc's --json output")
        s.add_argument("--tag", default=name)
        if name == "attention":
            s.add_argument("--tokens", required=True)
            continue
        s.add_argument("--prompt", required=True, help="whitespace-separated prompt ids")
        s.add_argument("--max-new-tokens", type=int, required=True)
        if name == "greedy":
            s.add_argument("--repetition-penalty", type=float, default=1.0)
            s.add_argument("--no-repeat-ngram-size", type=int, default=0)
        else:
            s.add_argument("--num-beams", type=int, required=True)
            s.add_argument("--nret", type=int, default=1)
            s.add_argument("--length-penalty", type=float, default=1.0)
            s.add_argument("--early-stopping", default="false")
            s.add_argument("--eos", type=int, action="append", default=[])
    a = ap.parse_args()
    ok = {"greedy": cmd_greedy, "beam": cmd_beam, "attention": cmd_attention}[a.cmd](a)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
