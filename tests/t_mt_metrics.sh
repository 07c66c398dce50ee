#!/usr/bin/env bash
# t_mt_metrics.sh: `gptc eval --task translate` (BLEU and chrF as sacreBLEU 2.6.0's
# corpus_bleu and corpus_chrf) on cases whose scores are derived by hand below, then on
# thousands of generated noisy English/Korean pairs (one and two references) against
# tests/ref/sacrebleu_ref.py, a reference written from sacreBLEU's documented algorithm
# (sacreBLEU is not installable here). Scores must agree to 1e-12 relative.
source "$(dirname "$0")/lib.sh"
G=$GPTC_ASAN
# hand-derived: HYP, REF, then the expected bleu, chrf (python expressions; "-" = not checked)
cases=(
  # 1-4-gram precisions 4/5, 3/4, 2/3, 1/2, BP 1: BLEU = (80*75*(200/3)*50)^(1/4);
  # chrF: orders 1-5 with P = R = 4/5, 3/4, 2/3, 1/2, 0 -> F = mean = 163/300
  "a b c d e|a b c d f|(80*75*(200/3)*50)**0.25|100*163/300"
  # exp smoothing: 3/4, 1/3, then 0/2 -> 100/(2*2), 0/1 -> 100/(4*1): BLEU = 25*sqrt(2)
  "a b c d|a b x d|25*2**0.5|-"
  # no trigram in the hypothesis: the loop stops, log(0) -> -9999999999: BLEU 0
  "the cat|the cat sat|0|-"
  # 13a: entities, quotes, "," and "." split off, "3.5" kept, "5-4" split: the hypothesis
  # tokenizes to the reference's tokens
  'He said &quot;hi&quot;, 3.5-4 km.|He said " hi " , 3.5 - 4 km .|100|-'
  # Korean: 7 characters each (spaces removed), one differs: P = R = (6/7+4/6+3/5+2/4+1/3+0)/6
  # = 621/1260; BLEU: 2/3, 1/2, 0/1 -> 50, no 4-gram -> 0
  "나는 학교에 간다|나는 학교에 갔다|0|100*621/1260"
  # whitespace is not part of chrF: 100; BLEU tokens "ab" vs "a" "b": no match -> 0
  "a b|ab|0|100"
  # nothing matches
  "x y|a b|0|0"
)
k=0
for c in "${cases[@]}"; do
    k=$((k + 1))
    IFS='|' read -r h r eb ec <<<"$c"
    printf '%s\n' "$h" >"$T/h$k"; printf '%s\n' "$r" >"$T/r$k"
    "$G" eval --task translate --hyp "$T/h$k" --ref "$T/r$k" --json >"$T/o$k" 2>"$T/err" || { fail "hand_case_$k" "$(cat "$T/err")"; continue; }
    if $PY - "$T/o$k" "$eb" "$ec" <<'PYEOF'
import json, sys
o = json.load(open(sys.argv[1]))
for key, e in (("bleu", sys.argv[2]), ("chrf", sys.argv[3])):
    if e == "-": continue
    v = eval(e)
    assert abs(o[key] - v) <= 1e-12 * max(1, abs(v)), (key, o[key], v)
PYEOF
    then pass "hand_case_$k ($h)"; else fail "hand_case_$k" "$(cat "$T/o$k")"; fi
done
# precisions, BP and ratio of case 3: [100, 100, 0, 0], exp(1 - 3/2), 2/3
check hand_case_3_details $PY -c "import json,math,sys; o=json.load(open(sys.argv[1])); assert o['precisions']==[100,100,0,0] and abs(o['bp']-math.exp(-0.5))<1e-15 and abs(o['ratio']-2/3)<1e-15 and o['hyp_len']==2 and o['ref_len']==3" "$T/o3"
# the text output as sacreBLEU prints it
"$G" eval --task translate --hyp "$T/h1" --ref "$T/r1" >"$T/text"
check text_format grep -qxF "BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0 = 66.87 80.0/75.0/66.7/50.0 (BP = 1.000 ratio = 1.000 hyp_len = 5 ref_len = 5)" "$T/text"
check text_format_chrf grep -qxF "chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no|version:2.6.0 = 54.33" "$T/text"

# generated noisy pairs against the reference
SEED=${MT_SEED:-$(( $(date +%s) % 100000 ))}
echo "seed $SEED"
$PY "$ROOT/tests/ref/sacrebleu_ref.py" gen "$SEED" 4000 "$T/gen"
compare() { # NAME REF...
    local name=$1; shift
    local args=()
    for r in "$@"; do args+=(--ref "$r"); done
    "$G" eval --task translate --hyp "$T/gen/hyp" "${args[@]}" --json >"$T/got.json" 2>"$T/err" || { fail "$name" "$(cat "$T/err")"; return; }
    $PY "$ROOT/tests/ref/sacrebleu_ref.py" score "$T/gen/hyp" "$@" >"$T/ref.json"
    if $PY - "$T/got.json" "$T/ref.json" <<'PYEOF'
import json, sys
g, r = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def close(a, b): return abs(a - b) <= 1e-12 * max(1.0, abs(b))
for k in ("bleu", "chrf", "bp", "ratio"):
    assert close(g[k], r[k]), (k, g[k], r[k])
assert all(close(a, b) for a, b in zip(g["precisions"], r["precisions"])), (g["precisions"], r["precisions"])
for k in ("hyp_len", "ref_len", "counts", "totals"):
    assert g[k] == r[k], (k, g[k], r[k])
print("bleu %.6f chrf %.6f" % (g["bleu"], g["chrf"]))
PYEOF
    then pass "$name ($(wc -l <"$T/gen/hyp") pairs)"; else fail "$name" "gptc $(head -c 400 "$T/got.json") reference $(head -c 400 "$T/ref.json")"; fi
}
compare noisy_pairs_one_ref "$T/gen/ref"
# an empty reference line after a longer one (the 13a buffer is reused: no stale words)
mkdir -p "$T/e"
printf 'the cat sat on the mat\nSource layout\n' >"$T/e/hyp"
printf 'the cat sat on a mat today\n## Source layout\n' >"$T/e/ref"
printf 'a cat was sitting on the mat\n\n' >"$T/e/ref2"
a=$("$G" eval --task translate --hyp "$T/e/hyp" --ref "$T/e/ref" --ref "$T/e/ref2" --json 2>&1)
b=$($PY "$ROOT/tests/ref/sacrebleu_ref.py" score "$T/e/hyp" "$T/e/ref" "$T/e/ref2")
check empty_second_reference $PY -c "import json,sys; g,r=json.loads(sys.argv[1]),json.loads(sys.argv[2]); assert g['ref_len']==r['ref_len']==7 and abs(g['bleu']-r['bleu'])<1e-12, (g, r)" "$a" "$b"
compare noisy_pairs_two_refs "$T/gen/ref" "$T/gen/ref2"
check noisy_pairs_have_korean $PY -c "import sys; t=open(sys.argv[1],encoding='utf-8').read(); assert sum('\uac00'<=c<='\ud7a3' for c in t) > 10000" "$T/gen/ref"

# errors
head -n 10 "$T/gen/ref" >"$T/short"
expect_error translate_line_counts 'short has 10 lines, .*hyp has 4000' "$G" eval --task translate --hyp "$T/gen/hyp" --ref "$T/short"
printf 'ok\nbad \xff byte\n' >"$T/bad"; printf 'a\nb\n' >"$T/two"
expect_error translate_invalid_utf8 'hypothesis 2: invalid UTF-8 at byte 4' "$G" eval --task translate --hyp "$T/bad" --ref "$T/two"
expect_error translate_model_without_data 'model DIR and --data FILE go together' "$G" eval --task translate --model x --hyp "$T/two" --ref "$T/two"
expect_error translate_needs_ref 'needs --hyp FILE and --ref FILE' "$G" eval --task translate --hyp "$T/two"
: >"$T/empty"
expect_error translate_empty 'empty: no sentences' "$G" eval --task translate --hyp "$T/empty" --ref "$T/empty"
expect_error translate_missing 'nope' "$G" eval --task translate --hyp "$T/nope" --ref "$T/two"
rm -rf "$T"
