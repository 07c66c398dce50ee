#!/usr/bin/env bash
# t_metrics.sh: GLUE's and KorQuAD's metrics. Matthews correlation, F1 of the positive
# class, accuracy and macro F1 of gptc equal scikit-learn's (Debian python3-sklearn:
# matthews_corrcoef, f1_score, accuracy_score) on seeded random predictions (2, 3, 7 and
# 13 labels, 1 to 5000 rows, skewed and degenerate ones: one class only, all wrong);
# Pearson and Spearman equal SciPy's (python3-scipy: pearsonr, spearmanr; ties get average
# ranks) on random values with and without ties; KorQuAD 1.0's exact match and character
# F1 equal its official evaluate-v1.0.py's normalize_answer / f1_score (the script's code,
# written out in the test) on hand-made Korean cases, with values worked out by hand for
# some; SQuAD's stay as the SQuAD v1.1 script.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
TOOL=$ROOT/build/tests/tool_metrics
[ -x "$TOOL" ] || make -s -C "$ROOT" build/tests/tool_metrics >/dev/null 2>&1
if [ ! -x "$TOOL" ] || ! $PY -c "import sklearn, scipy" 2>/dev/null; then
    fail metrics_available "build/tests/tool_metrics, python3-sklearn or python3-scipy missing (sh scripts/deps.sh test)"
    exit 1
fi
SEED=${GPTC_TEST_SEED:-$(( (RANDOM << 15) | RANDOM ))}
echo "seed $SEED (rerun with GPTC_TEST_SEED=$SEED)"

$PY - "$T" "$SEED" "$TOOL" <<'PYEOF' && pass "metrics_cls_sklearn" || fail metrics_cls_sklearn "differs from scikit-learn"
import random, subprocess, sys
import numpy as np
from sklearn.metrics import accuracy_score, f1_score, matthews_corrcoef
t, seed, tool = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
cases = 0
for K in (2, 3, 7, 13):
    for n in (1, 2, 17, 333, 5000):
        for kind in ("random", "skewed", "one_class", "all_wrong", "good"):
            y = [r.randrange(K) for _ in range(n)]
            if kind == "skewed": y = [0 if r.random() < 0.9 else r.randrange(K) for _ in range(n)]
            if kind == "one_class": y = [1] * n
            p = [r.randrange(K) for _ in range(n)]
            if kind == "all_wrong": p = [(v + 1) % K for v in y]
            if kind == "good": p = [v if r.random() < 0.8 else r.randrange(K) for v in y]
            with open(f"{t}/cls.txt", "w") as f:
                f.write("".join(f"{a} {b}\n" for a, b in zip(y, p)))
            got = [float(v) for v in subprocess.check_output([tool, "cls", str(K), f"{t}/cls.txt"]).split()]
            labels = list(range(K))
            want = [accuracy_score(y, p), matthews_corrcoef(y, p),
                    f1_score(y, p, labels=labels, average=None, zero_division=0)[1],
                    f1_score(y, p, average="macro", zero_division=0)]
            if K == 2:  # the binary F1 run_glue reports: f1_score(y, p) with pos_label 1
                want[2] = f1_score(y, p, zero_division=0)
            for g, w, name in zip(got, want, ("accuracy", "mcc", "f1_label1", "f1_macro")):
                if abs(g - w) > 1e-12 * max(1, abs(w)):
                    sys.exit(f"K={K} n={n} {kind}: {name} {g} vs scikit-learn {w}")
            cases += 1
print(f"{cases} cases")
PYEOF

$PY - "$T" "$SEED" "$TOOL" <<'PYEOF' && pass "metrics_corr_scipy" || fail metrics_corr_scipy "differs from SciPy"
import math, random, subprocess, sys
from scipy.stats import pearsonr, spearmanr
t, seed, tool = sys.argv[1], int(sys.argv[2]), sys.argv[3]
r = random.Random(seed + 1)
cases = 0
for n in (2, 3, 10, 97, 1500, 20000):
    for kind in ("normal", "ties", "int", "anti", "constant"):
        x = [r.gauss(2.5, 1.3) for _ in range(n)]
        y = [v * 0.7 + r.gauss(0, 0.8) for v in x]
        if kind == "ties": x = [round(v * 2) / 2 for v in x]; y = [round(v) for v in y]
        if kind == "int": x = [r.randrange(6) for _ in range(n)]; y = [r.randrange(6) for _ in range(n)]
        if kind == "anti": y = [-v ** 3 for v in x]
        if kind == "constant": y = [3.0] * n
        with open(f"{t}/corr.txt", "w") as f:
            f.write("".join(f"{a!r} {b!r}\n" for a, b in zip(x, y)))
        got = [float(v) for v in subprocess.check_output([tool, "corr", f"{t}/corr.txt"]).split()]
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want = [pearsonr(x, y)[0], spearmanr(x, y)[0]]
        for g, w, name in zip(got, want, ("pearson", "spearman")):
            if math.isnan(w):
                if not math.isnan(g): sys.exit(f"n={n} {kind}: {name} {g}, SciPy NaN")
                continue
            if abs(g - w) > 1e-10 * max(1, abs(w)):
                sys.exit(f"n={n} {kind}: {name} {g} vs SciPy {w}")
        cases += 1
print(f"{cases} cases")
PYEOF

# KorQuAD 1.0: the cases (prediction, gold), and the official script's functions
cat >"$T/qa.txt" <<'EOF'
세종대왕	세종대왕
《훈민정음》	훈민정음
'훈민정음'을	훈민정음
1443년	1443년 (세종 25년)
세종 25년	1443년 (세종 25년)
〈용비어천가〉	용비어천가
조선의 제4대 왕	조선 제4대 왕
서울	부산
The Sejong Institute	sejong institute
“한글”	한글
한글.	한글!
ㄱㄴㄷ	ㄱ ㄴ ㄷ
‘세종’	세종
	세종
EOF
"$TOOL" qa "$T/qa.txt" >"$T/qa.out" || fail metrics_korquad "tool failed"
$PY - "$T/qa.txt" "$T/qa.out" <<'PYEOF' && pass metrics_korquad || fail metrics_korquad "differs from evaluate-v1.0.py"
import re, string, sys
from collections import Counter
# KorQuAD v1.0's evaluate-v1.0.py (normalize_answer, f1_score, exact_match_score)
def normalize_answer(s):
    def remove_(text):
        for c in ["'", '"', '《', '》', '<', '>', '〈', '〉', "\\(", "\\)", "‘", "’"]:
            text = re.sub(c, " ", text)
        return text
    def white_space_fix(text): return ' '.join(text.split())
    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)
    def lower(text): return text.lower()
    return white_space_fix(remove_punc(lower(remove_(s))))
def f1_score(prediction, ground_truth):
    p = [c for tok in normalize_answer(prediction).split() for c in tok]
    g = [c for tok in normalize_answer(ground_truth).split() for c in tok]
    common = Counter(p) & Counter(g)
    num_same = sum(common.values())
    if num_same == 0: return 0
    precision, recall = num_same / len(p), num_same / len(g)
    return (2 * precision * recall) / (precision + recall)
def exact_match_score(prediction, ground_truth):
    return normalize_answer(prediction) == normalize_answer(ground_truth)
# SQuAD v1.1's
def squad_norm(s):
    s = ''.join(ch for ch in s.lower() if ch not in set(string.punctuation))
    s = re.sub(r'\b(a|an|the)\b', ' ', s)
    return ' '.join(s.split())
def squad_f1(p, g):
    p, g = squad_norm(p).split(), squad_norm(g).split()
    same = sum((Counter(p) & Counter(g)).values())
    if same == 0: return 0
    pr, rc = same / len(p), same / len(g)
    return 2 * pr * rc / (pr + rc)
cases = [l.rstrip("\n").split("\t") for l in open(sys.argv[1], encoding="utf-8")]
got = [list(map(float, l.split())) for l in open(sys.argv[2])]
assert len(cases) == len(got), (len(cases), len(got))
for (p, g), v in zip(cases, got):
    want = [float(exact_match_score(p, g)), f1_score(p, g), float(squad_norm(p) == squad_norm(g)), squad_f1(p, g)]
    for a, b, name in zip(v, want, ("korquad_em", "korquad_f1", "squad_em", "squad_f1")):
        if abs(a - b) > 1e-12: sys.exit(f"{p!r} / {g!r}: {name} {a} vs {b}")
# worked out by hand: 《훈민정음》 = 훈민정음; '1443년' against '1443년 (세종 25년)': 5 of 5 and 5 of 10
# characters, F1 = 2/3; 조선의 제4대 왕 against 조선 제4대 왕: 6 of 7 and 6 of 6, F1 = 12/13
assert got[1][0] == 1 and abs(got[3][1] - 2 / 3) < 1e-12 and abs(got[6][1] - 12 / 13) < 1e-12, got
assert got[11][0] == 0 and got[11][1] == 1.0 and got[13] == [0, 0, 0, 0], got  # spaces: EM differs, F1 does not
PYEOF
rm -rf "$T"
