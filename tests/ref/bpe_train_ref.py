#!/usr/bin/python3
"""bpe_train_ref.py: a plain, slow reference for `gptc tokenizer-train` (small inputs only).

  pretok [--special S ...] FILE...   word counts of GPT-2's pre-tokenization, as
                                     "count<TAB>hex bytes" lines sorted by bytes (the
                                     format of `gptc tokenizer-train --dump-words`)
  train --words FILE --vocab-size N --min-frequency M [--special S ...] --out DIR
                                     BPE training from such word counts; writes
                                     DIR/vocab.json and DIR/merges.txt

The pre-tokenizer is a hand-written scanner of GPT-2's pattern
  's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
with \\s = Unicode White_Space and categories from unicodedata; valid UTF-8 input only.
Training recounts every pair before each merge and picks the highest count, ties to the
smallest (left bytes, right bytes); a merge whose bytes are already a token adds a merge
line (once per pair) but no token. Ids: the 256 bytes ordered by GPT-2's byte->unicode
code point, then learned tokens, then the special tokens.
"""
import json
import os
import sys
import unicodedata
from collections import Counter

WS = set(map(chr, [9, 10, 11, 12, 13, 0x20, 0x85, 0xA0, 0x1680, *range(0x2000, 0x200B),
                   0x2028, 0x2029, 0x202F, 0x205F, 0x3000]))


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def is_l(c):
    return unicodedata.category(c)[0] == "L"


def is_n(c):
    return unicodedata.category(c)[0] == "N"


def is_other(c):
    return not (c in WS or is_l(c) or is_n(c))


def pretokenize(text):
    """Pieces of text, following the alternatives of the pattern in order."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        j = None
        if c == "'":
            for s in ("s", "t", "re", "ve", "m", "ll", "d"):
                if text.startswith(s, i + 1):
                    j = i + 1 + len(s)
                    break
        if j is None:
            for klass in (is_l, is_n, is_other):
                k = i + 1 if c == " " and i + 1 < n and klass(text[i + 1]) else i
                if k < n and klass(text[k]):
                    j = k
                    while j < n and klass(text[j]):
                        j += 1
                    break
        if j is None:  # white space: \s+(?!\S) backs off one character before a non-space
            j = i
            while j < n and text[j] in WS:
                j += 1
            if j < n and j - i >= 2:
                j -= 1
        out.append(text[i:j])
        i = j
    return out


def split_special(text, special):
    """Text segments between occurrences of special tokens (earliest, then longest)."""
    segs, pos = [], 0
    while True:
        best = None
        for s in special:
            f = text.find(s, pos)
            if f >= 0 and (best is None or f < best[0] or (f == best[0] and len(s) > len(best[1]))):
                best = (f, s)
        if best is None:
            segs.append(text[pos:])
            return segs
        segs.append(text[pos:best[0]])
        pos = best[0] + len(best[1])


def cmd_pretok(args):
    special, files = [], []
    while args:
        a = args.pop(0)
        if a == "--special":
            special.append(args.pop(0))
        else:
            files.append(a)
    counts = Counter()
    for f in files:
        with open(f, "rb") as fh:
            text = fh.read().decode("utf-8")
        for seg in split_special(text, special):
            for p in pretokenize(seg):
                counts[p.encode("utf-8")] += 1
    for w in sorted(counts):
        sys.stdout.write("%d\t%s\n" % (counts[w], w.hex()))


def train(words, vocab_size, min_freq, n_special):
    order = sorted(range(256), key=lambda b: bytes_to_unicode()[b])
    vocab = {bytes([b]): i for i, b in enumerate(order)}
    merges, merged = [], set()
    words = [([bytes([x]) for x in w], c) for w, c in words.items()]
    while len(vocab) < vocab_size - n_special:
        counts = Counter()
        for w, c in words:
            for i in range(len(w) - 1):
                counts[(w[i], w[i + 1])] += c
        if not counts:
            break
        best = max(counts.values())
        if best < max(min_freq, 1):
            break
        a, b = min(p for p, c in counts.items() if c == best)
        if a + b not in vocab:
            vocab[a + b] = len(vocab)
        if (a, b) not in merged:
            merged.add((a, b))
            merges.append((a, b))
        for w, _ in words:
            i, o = 0, []
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    o.append(a + b)
                    i += 2
                else:
                    o.append(w[i])
                    i += 1
            w[:] = o
    return vocab, merges


def cmd_train(args):
    special, words_path, out, vocab_size, min_freq = [], None, None, None, 2
    while args:
        a = args.pop(0)
        if a == "--special":
            special.append(args.pop(0))
        elif a == "--words":
            words_path = args.pop(0)
        elif a == "--out":
            out = args.pop(0)
        elif a == "--vocab-size":
            vocab_size = int(args.pop(0))
        elif a == "--min-frequency":
            min_freq = int(args.pop(0))
        else:
            sys.exit("bpe_train_ref.py: unknown argument " + a)
    words = {}
    with open(words_path) as fh:
        for line in fh:
            c, h = line.rstrip("\n").split("\t")
            words[bytes.fromhex(h)] = int(c)
    vocab, merges = train(words, vocab_size, min_freq, len(special))
    enc = bytes_to_unicode()
    spell = lambda t: "".join(enc[x] for x in t)
    v = {spell(t): i for t, i in vocab.items()}
    for s in special:
        v[s] = len(v)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vocab.json"), "w", encoding="utf-8") as fh:
        json.dump(v, fh, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8") as fh:
        fh.write("#version: 0.2\n")
        for a, b in merges:
            fh.write(spell(a) + " " + spell(b) + "\n")


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("pretok", "train"):
        sys.exit(__doc__)
    (cmd_pretok if sys.argv[1] == "pretok" else cmd_train)(sys.argv[2:])
