"""translate_ref.py MODEL_DIR SOURCES GPTC_JSONL MODE [options] | eval MODEL DATA GOT TAG: greedy decoding and beam
search written as plain Python loops over the full forward of tests/ref/marian_torch.py
(float64, no cache: every step runs the whole decoder over [decoder_start] + the tokens so
far), with Hugging Face's generate() semantics for an encoder-decoder:
  - max_length = 1 + max_new_tokens (the start token counts); decoding stops there or at eos;
  - logits processors in HF's order on each step's scores: no_repeat_ngram_size (over the
    decoder ids, start token included), bad_words_ids (single tokens -> -inf),
    ForcedEOSTokenLogitsProcessor (when cur_len == max_length - 1 only eos);
  - greedy: argmax of the processed logits;
  - beam search (BeamSearchScorer / BeamHypotheses, early_stopping False): per step
    log_softmax + processors + the beam's score, the best 2 * num_beams (beam, token)
    continuations, an eos among the first num_beams ranks closes a hypothesis with score
    sum_logprobs / generated_len ** length_penalty (generated_len counts the eos), the
    others become the beams; done when num_beams hypotheses exist and the worst is at least
    best running score / cur_len ** length_penalty; at the end the running beams join.
Compares the token ids (start token left out) with gptc translate --json's, one line per
source, and prints PASS/FAIL lines."""
import argparse
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from marian_torch import load_model_dir, marian_forward  # noqa: E402


def step_logits(cfg, p, src, dec):
    b = {"src": torch.tensor([src]), "src_mask": torch.ones(1, len(src), dtype=torch.float64),
         "dec": torch.tensor([dec])}
    logits, _ = marian_forward(cfg, p, b)
    return logits[0, -1].clone()


def process(a, scores, ids, max_length, eos):
    n = a.no_repeat_ngram_size
    if n > 0 and len(ids) + 1 >= n:
        prefix = tuple(ids[len(ids) - n + 1:])
        for i in range(len(ids) - n + 1):
            if tuple(ids[i:i + n - 1]) == prefix:
                scores[ids[i + n - 1]] = -math.inf
    for t in a.bad_words:
        scores[t] = -math.inf
    if a.forced_eos and len(ids) == max_length - 1:
        scores[:] = -math.inf
        scores[eos] = 0.0
    return scores


def greedy(a, cfg, p, src, start, eos, max_length):
    ids = [start]
    while len(ids) < max_length:
        s = process(a, step_logits(cfg, p, src, ids), ids, max_length, eos)
        t = int(torch.argmax(s))
        ids.append(t)
        if t == eos:
            break
    return ids[1:]


def beam(a, cfg, p, src, start, eos, max_length):
    NB, lp = a.num_beams, a.length_penalty
    beams = [[start] for _ in range(NB)]
    bscore = [0.0] + [-1e9] * (NB - 1)
    hyps = []  # (score, tokens)

    def add(tokens, sum_lp, gen_len):
        sc = sum_lp / gen_len ** lp
        if len(hyps) < NB or sc > min(h[0] for h in hyps):
            hyps.append((sc, tokens))
            if len(hyps) > NB:
                hyps.remove(min(hyps, key=lambda h: h[0]))

    done = False
    while len(beams[0]) < max_length:
        cur_len = len(beams[0]) + 1
        cand = []
        for k in range(NB):
            s = torch.log_softmax(step_logits(cfg, p, src, beams[k]), dim=-1)
            s = process(a, s, beams[k], max_length, eos)
            for v in range(s.shape[0]):
                cand.append((float(s[v]) + bscore[k], k, v))
        cand.sort(key=lambda c: -c[0])
        cand = cand[:2 * NB]
        nb, nsc = [], []
        for r, (sc, k, v) in enumerate(cand):
            if v == eos:
                if r >= NB:
                    continue
                add(beams[k][1:] + [v], sc, cur_len - 1)
            else:
                nb.append(beams[k] + [v])
                nsc.append(sc)
            if len(nb) == NB:
                break
        beams, bscore = nb, nsc
        if len(hyps) >= NB and min(h[0] for h in hyps) >= cand[0][0] / (cur_len - 1) ** lp:
            done = True
            break
    if not done:
        for k in range(NB):
            add(beams[k][1:], bscore[k], len(beams[k]) - 1)
    return max(hyps, key=lambda h: h[0])[1]


def eval_loss(model, data, got_path, tag):
    """eval --task translate --data: the mean cross-entropy over every label that is not
    -100 in the file, each example alone (no padding; its attention_mask on the source),
    decoder input = [decoder_start] + labels[:-1] with -100 as pad."""
    cfg, w = load_model_dir(model)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    V = cfg["vocab_size"]
    pad = cfg.get("pad_token_id", V - 1)
    start = cfg.get("decoder_start_token_id", pad)
    total, count = 0.0, 0
    for line in open(data):
        e = json.loads(line)
        src, lab = e["input_ids"], e["labels"]
        dec = [start] + [pad if t == -100 else t for t in lab[:-1]]
        b = {"src": torch.tensor([src]), "dec": torch.tensor([dec]),
             "src_mask": torch.tensor([e.get("attention_mask", [1] * len(src))], dtype=torch.float64)}
        logits, _ = marian_forward(cfg, p, b)
        lp = torch.log_softmax(logits[0], dim=-1)
        for t, y in enumerate(lab):
            if y != -100:
                total -= float(lp[t, y])
                count += 1
    ref = total / count
    got = json.load(open(got_path))
    err = abs(got["loss"] - ref) / abs(ref)
    ok = err < 1e-5 and got["tokens"] == count
    print("%s %s: loss %.7f vs reference %.7f (rel. error %.1e), tokens %d vs %d" % (
        "PASS" if ok else "FAIL", tag, got["loss"], ref, err, got["tokens"], count))
    return 0 if ok else 1


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "eval":
        return eval_loss(*sys.argv[2:6])
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("sources")
    ap.add_argument("got")
    ap.add_argument("mode", choices=("greedy", "beam"))
    ap.add_argument("--max-new-tokens", type=int, required=True)
    ap.add_argument("--num-beams", type=int, default=1)
    ap.add_argument("--length-penalty", type=float, default=1.0)
    ap.add_argument("--no-repeat-ngram-size", type=int, default=0)
    ap.add_argument("--bad-words", type=int, nargs="*", default=[])
    ap.add_argument("--forced-eos", action="store_true")
    ap.add_argument("--tag", required=True)
    a = ap.parse_args()
    cfg, w = load_model_dir(a.model)
    p = {k: torch.tensor(v, dtype=torch.float64) for k, v in w.items()}
    V = cfg["vocab_size"]
    start = cfg.get("decoder_start_token_id", cfg.get("pad_token_id", V - 1))
    eos = cfg.get("eos_token_id", 0)
    max_length = 1 + a.max_new_tokens
    srcs = [[int(x) for x in l.split()] for l in open(a.sources) if l.strip()]
    got = [json.loads(l)["sequences"][0]["token_ids"] for l in open(a.got)]
    if len(got) != len(srcs):
        print("FAIL %s: %d outputs for %d sources" % (a.tag, len(got), len(srcs)))
        return 1
    bad, n_tok, n_eos = [], 0, 0
    for i, src in enumerate(srcs):
        ref = greedy(a, cfg, p, src, start, eos, max_length) if a.mode == "greedy" else \
            beam(a, cfg, p, src, start, eos, max_length)
        n_tok += len(ref)
        n_eos += bool(ref) and ref[-1] == eos
        if ref != got[i]:
            bad.append("source %d: reference %s, gptc %s" % (i, ref, got[i]))
    if bad:
        print("FAIL %s: %d of %d differ; %s" % (a.tag, len(bad), len(srcs), bad[0]))
        return 1
    print("PASS %s (%d sources, %d tokens, %d end with eos)" % (a.tag, len(srcs), n_tok, n_eos))
    return 0


if __name__ == "__main__":
    sys.exit(main())
