#!/usr/bin/python3
"""sacrebleu_ref.py: a reference for tests/t_mt_metrics.sh, written in the test from
sacreBLEU's documented algorithm (sacreBLEU itself is not installable here).

  score HYP REF [REF...]   corpus BLEU (13a, exp smoothing, mixed case, max order 4,
                           no effective order) and chrF2 (6 character orders, no word
                           orders, whitespace removed, effective-order averaging) as JSON
  gen SEED N DIR           N noisy English/Korean hypothesis/reference pairs: DIR/hyp,
                           DIR/ref, DIR/ref2 (a second reference)

13a: line.rstrip(); drop "<skipped>"; join "-\\n"; "\\n" -> " "; when "&" is present
&quot; &amp; &lt; &gt; -> " & < > (in that order); pad with spaces; then the four
substitutions of mteval-v13a (ASCII punctuation but ' , - . gets spaces; "." and ","
split off unless between digits; "-" after a digit split off); split on whitespace.
BLEU per sentence: n-grams of orders 1-4 clipped by the maximum count over the
references, the reference length closest to the hypothesis length (the shorter on
ties); over the corpus: BP = exp(1 - r/c) when c < r (0 when c = 0); precisions
100 * m / t, and when m = 0 the exp smoothing 100 / (2^k t) for the k-th zero order;
an order with no hypothesis n-grams stops the loop (its log is that of 0,
-9999999999); BLEU = BP * exp(mean of the four logs); 0 when nothing matched.
chrF: per order the hypothesis count (0 when the reference has none), the reference
count and the clipped matches; the best reference by sentence chrF; summed over the
corpus; precision and recall averaged over the orders where both counts are > 0;
F = (1 + 4) P R / (4 P + R), times 100."""
import json
import math
import os
import random
import re
import sys
from collections import Counter


def tok13a(line):
    line = line.rstrip()
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
    line = " " + line + " "
    line = re.sub(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])", r" \1 ", line)
    line = re.sub(r"([^0-9])([\.,])", r"\1 \2 ", line)
    line = re.sub(r"([\.,])([^0-9])", r" \1 \2", line)
    line = re.sub(r"([0-9])(-)", r"\1 \2 ", line)
    return " ".join(line.split())


def word_ngrams(toks):
    c = Counter()
    for n in range(1, 5):
        for i in range(len(toks) - n + 1):
            c[tuple(toks[i:i + n])] += 1
    return c


def bleu(hyps, refsets):
    correct, total, c_len, r_len = [0] * 4, [0] * 4, 0, 0
    for i, h in enumerate(hyps):
        ht = tok13a(h).split()
        ref_counts, lens = Counter(), []
        for refs in refsets:
            rt = tok13a(refs[i]).split()
            lens.append(len(rt))
            for g, k in word_ngrams(rt).items():
                ref_counts[g] = max(ref_counts[g], k)
        best = min(lens, key=lambda L: (abs(len(ht) - L), L))
        for g, k in word_ngrams(ht).items():
            total[len(g) - 1] += k
            correct[len(g) - 1] += min(k, ref_counts.get(g, 0))
        c_len += len(ht)
        r_len += best
    bp = 1.0
    if c_len < r_len:
        bp = math.exp(1 - r_len / c_len) if c_len > 0 else 0.0
    prec = [0.0] * 4
    score = 0.0
    if any(correct):
        k = 1.0
        for n in range(4):
            if total[n] == 0:
                break
            if correct[n] == 0:
                k *= 2
                prec[n] = 100.0 / (k * total[n])
            else:
                prec[n] = 100.0 * correct[n] / total[n]
        logs = [math.log(p) if p != 0.0 else -9999999999 for p in prec]
        score = bp * math.exp(sum(logs) / 4)
    return {"bleu": score, "precisions": prec, "bp": bp, "ratio": c_len / r_len if r_len else 0,
            "hyp_len": c_len, "ref_len": r_len, "counts": correct, "totals": total}


def chrf_f(stats):
    p = r = 0.0
    eff = 0
    for nh, nr, nm in stats:
        if nh > 0 and nr > 0:
            p += nm / nh
            r += nm / nr
            eff += 1
    if eff:
        p /= eff
        r /= eff
    else:
        p = r = 0.0
    if p + r == 0:
        return 0.0
    return 100 * ((1 + 4) * p * r / (4 * p + r))


def chrf(hyps, refsets):
    tot = [[0, 0, 0] for _ in range(6)]
    for i, h in enumerate(hyps):
        hs = "".join(h.split())
        best, best_f = None, -1.0
        for refs in refsets:
            rs = "".join(refs[i].split())
            st = []
            for n in range(1, 7):
                hc = Counter(hs[j:j + n] for j in range(len(hs) - n + 1))
                rc = Counter(rs[j:j + n] for j in range(len(rs) - n + 1))
                m = sum(min(k, rc[g]) for g, k in hc.items() if g in rc)
                st.append([sum(hc.values()) if rc else 0, sum(rc.values()), m])
            f = chrf_f(st)
            if f > best_f:
                best, best_f = st, f
        for n in range(6):
            for j in range(3):
                tot[n][j] += best[n][j]
    return chrf_f(tot)


def read(path):
    with open(path, encoding="utf-8", newline="\n") as f:
        data = f.read()
    lines = data.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def gen(seed, n, out):
    rng = random.Random(seed)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    src = []
    for name in ["README.md", "README.ko.md", "docs/tokenizer.md", "docs/training.md"]:
        with open(os.path.join(root, name), encoding="utf-8") as f:
            src += [l.strip() for l in f if len(l.split()) >= 3]
    extra = ["3.14", "1,000", "3-4", "2024-12-01", "U.S.", "e.g.,", "&quot;", "&amp;", "&lt;b&gt;", "<skipped>",
             "don't", "(예)", "「인용」", "...", "—", "a-b", "x,y", "5.", ",5", "-7", "7-"]
    spaces = [" ", "  ", "\t", "\u3000", "\u00a0", " \u2009"]
    vocab = " ".join(src).split()

    def noisy(s):
        w = s.split()
        out = []
        for t in w:
            r = rng.random()
            if r < 0.08:
                continue
            if r < 0.14:
                t = rng.choice(vocab)
            elif r < 0.18:
                t = t + rng.choice([".", ",", "!", "?", ";", ":", '"'])
            elif r < 0.21:
                t = t.upper() if rng.random() < 0.5 else t.lower()
            elif r < 0.24 and len(t) > 1:
                t = t[:-1]
            elif r < 0.27:
                out.append(rng.choice(extra))
            out.append(t)
        if len(out) > 2 and rng.random() < 0.2:
            j = rng.randrange(len(out) - 1)
            out[j], out[j + 1] = out[j + 1], out[j]
        line = ""
        for t in out:
            line += t + (rng.choice(spaces) if rng.random() < 0.1 else " ")
        return line.rstrip(" ") if rng.random() < 0.8 else line

    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "hyp"), "w", encoding="utf-8") as fh, \
            open(os.path.join(out, "ref"), "w", encoding="utf-8") as fr, \
            open(os.path.join(out, "ref2"), "w", encoding="utf-8") as f2:
        for _ in range(n):
            ref = rng.choice(src)
            r = rng.random()
            hyp = ref if r < 0.05 else "" if r < 0.07 else rng.choice(src) if r < 0.12 else noisy(ref)
            fh.write(hyp + "\n")
            fr.write(ref + "\n")
            f2.write(noisy(ref) + "\n")


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
    else:
        hyps = read(sys.argv[2])
        refsets = [read(p) for p in sys.argv[3:]]
        out = bleu(hyps, refsets)
        out["chrf"] = chrf(hyps, refsets)
        print(json.dumps(out))
