# wp_vocab.py TEXT OUT_DIR LOWER [SEED]: writes a BERT-like WordPiece vocabulary for the UTF-8
# file TEXT into OUT_DIR as Hugging Face saves one (vocab.txt, tokenizer.json,
# tokenizer_config.json; written here, not by gptc): [PAD] [UNK] [CLS] [SEP] [MASK] and
# [unused0..9] first, then single characters of the text seen at least twice (alone and
# with "##"), frequent words, and pieces of words cut at random places (prefix, "##" rest),
# so that encoding finds long matches, "##" continuations and [UNK]. LOWER 1: an uncased
# vocabulary (do_lower_case true), 0: cased.
import json, random, sys, unicodedata
from collections import Counter

text_path, out, lower = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
rnd = random.Random(int(sys.argv[4]) if len(sys.argv) > 4 else 1)
text = open(text_path, encoding="utf-8", errors="replace").read()
if lower:
    text = "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")
words = Counter()
cur = []
def is_punct(c):
    return (33 <= ord(c) <= 47 or 58 <= ord(c) <= 64 or 91 <= ord(c) <= 96 or 123 <= ord(c) <= 126
            or unicodedata.category(c).startswith("P"))
def is_cjk(c):
    cp = ord(c)
    return 0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2CEAF or 0xF900 <= cp <= 0xFAFF
for c in text + " ":
    if c.isspace() or is_punct(c) or is_cjk(c):
        if cur: words["".join(cur)] += 1
        cur = []
        if not c.isspace(): words[c] += 1
    else:
        cur.append(c)
chars = Counter(c for c in text if not c.isspace())
vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"[unused{i}]" for i in range(10)]
seen = set(vocab)
def add(t):
    if t and t not in seen and not any(unicodedata.category(c) == "Cc" for c in t):
        seen.add(t)
        vocab.append(t)
for c, n in sorted(chars.items()):
    if n >= 2:
        add(c)
        add("##" + c)
for w, n in words.most_common(3000):
    if len(w) <= 40: add(w)
for w, n in words.most_common(6000):
    if len(w) < 3: continue
    k = rnd.randrange(1, len(w))
    add(w[:k])
    add("##" + w[k:])
    if len(w) > 4:
        j = rnd.randrange(1, len(w) - 1)
        add("##" + w[j:j + rnd.randrange(1, 4)])
with open(f"{out}/vocab.txt", "w", encoding="utf-8") as f:
    f.write("".join(t + "\n" for t in vocab))
sp = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
added = [{"id": vocab.index(t), "content": t, "single_word": False, "lstrip": False, "rstrip": False,
          "normalized": False, "special": True} for t in sp]
tj = {
    "version": "1.0", "truncation": None, "padding": None, "added_tokens": added,
    "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                   "strip_accents": None, "lowercase": lower},
    "pre_tokenizer": {"type": "BertPreTokenizer"},
    "post_processor": {"type": "TemplateProcessing",
        "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                   {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
        "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                 {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
        "special_tokens": {"[CLS]": {"id": "[CLS]", "ids": [2], "tokens": ["[CLS]"]},
                           "[SEP]": {"id": "[SEP]", "ids": [3], "tokens": ["[SEP]"]}}},
    "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
    "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
              "max_input_chars_per_word": 100, "vocab": {t: i for i, t in enumerate(vocab)}},
}
json.dump(tj, open(f"{out}/tokenizer.json", "w", encoding="utf-8"), ensure_ascii=False)
json.dump({"do_lower_case": lower, "tokenizer_class": "BertTokenizer", "unk_token": "[UNK]", "sep_token": "[SEP]",
           "pad_token": "[PAD]", "cls_token": "[CLS]", "mask_token": "[MASK]", "strip_accents": None,
           "tokenize_chinese_chars": True, "model_max_length": 512, "clean_up_tokenization_spaces": True},
          open(f"{out}/tokenizer_config.json", "w", encoding="utf-8"))
print(len(vocab))
