#!/usr/bin/python3
"""gen_text.py SEED BYTES OUT [train]: about BYTES bytes of mixed text, one sentence a
line, the same for the same SEED, for tests/t_spm.sh: English and Korean prose (the
lines of README.md and README.ko.md), Chinese, emoji (skin tones, ZWJ), digits, runs of
spaces and tabs, leading/trailing blanks, characters NFKC changes (full-width ASCII,
half-width katakana, ligatures, circled digits, compatibility jamo, decomposed Hangul,
combining accents, NBSP and the ideographic space), the user-defined and control piece
names of the test's models, a literal U+2581. Without "train" it adds what a model
has never seen: random code points (BMP and astral, also unassigned), control
characters, invalid UTF-8 bytes and a NUL."""
import os
import random
import sys

seed, size, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
train = len(sys.argv) > 4 and sys.argv[4] == "train"
rng = random.Random(seed)
root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def lines_of(name):
    with open(os.path.join(root, name), encoding="utf-8") as f:
        return [l.strip() for l in f if len(l.strip()) > 20]


english = lines_of("README.md") + lines_of("docs/tokenizer.md")
korean = [l for l in lines_of("README.ko.md") if any("\uac00" <= c <= "\ud7a3" for c in l)]
chinese = ["你好世界", "中文分词器", "模型训练数据", "我们今天天气很好", "人工智能", "北京", "漢字語言",
           "机器翻译的质量", "深度学习"]
emoji = ["😀", "👍", "👍🏽", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇰🇷", "🤖", "✨", "🔥", "🫠", "©", "™", "…"]
nfkc = ["ＡＢＣ", "ｈｅｌｌｏ", "１２３４５", "（括弧）", "！？", "ｶﾀｶﾅ", "ﬁ", "ﬂ", "①②③", "㈜", "㎏", "㍿",
        "ㄱㅏ", "\u1100\u1161\u11a8", "\u1112\u1161\u11ab\u1100\u1173\u11af", "e\u0301", "A\u030a", "Å", "ｱｲｳｴｵ",
        "\u00a0", "\u3000", "½", "x²", "ℌ", "Ⅻ", "\u2003", "\u200b", "\ufeff", "ﾞ", "㋿", "ᄀ"]
specials = ["<sep>", "[MASK]", "<ctl>", "<s>", "</s>", "<unk>", "<0x41>", "\u2581", "\u2581\u2581a"]
spaces = [" ", "  ", "   ", "\t", " \t ", "\u3000", "\u00a0"]


def word():
    r = rng.random()
    if r < 0.05:
        return str(rng.randint(0, 10 ** rng.randint(1, 9)))
    if r < 0.10:
        return rng.choice(emoji) * rng.randint(1, 2)
    if r < 0.17:
        return rng.choice(nfkc)
    if r < 0.20:
        return rng.choice(chinese)
    if r < 0.22:
        return rng.choice(specials)
    if not train and r < 0.26:
        k = rng.random()
        if k < 0.4:
            return chr(rng.randint(0x80, 0xD7FF))
        if k < 0.7:
            return chr(rng.randint(0x10000, 0x10FFFF))
        if k < 0.85:
            return chr(rng.choice([1, 2, 7, 8, 0x0b, 0x0c, 0x0d, 0x1b, 0x7f, 0x85, 0x9f]))
        return "\udcff"  # -> an invalid byte (surrogateescape)
    src = english if r < 0.63 else korean
    ws = rng.choice(src).split()
    i = rng.randrange(len(ws))
    return " ".join(ws[i:i + rng.randint(1, 6)])


def sentence():
    r = rng.random()
    if r < 0.5:
        line = rng.choice(korean if r < 0.2 else english)
    else:
        parts = [word() for _ in range(rng.randint(1, 12))]
        line = ""
        for p in parts:
            line += p + (rng.choice(spaces) if rng.random() < 0.15 else " ")
    if rng.random() < 0.1:
        line = rng.choice(spaces) + line
    if rng.random() < 0.1:
        line += rng.choice(spaces)
    if not train and rng.random() < 0.003:
        line = line[: len(line) // 2] + "\x00" + line[len(line) // 2:]
    return line


with open(out, "wb") as f:
    n = 0
    if not train:  # lines a model must also get right
        for l in ["", " ", "   ", "\t", "a", "\u2581", "\u2581 \u2581", "<sep><sep>", "[MASK]x[MASK]",
                  "\udcc3\udca9", "\udcff\udcfe", "\U0010FFFF" * 3, "ＡＢＣ　ＤＥＦ", "x" * 3000,
                  "가" * 500, "😀" * 300]:
            b = (l + "\n").encode("utf-8", "surrogateescape")
            f.write(b)
            n += len(b)
    while n < size:
        b = (sentence() + "\n").encode("utf-8", "surrogateescape")
        f.write(b)
        n += len(b)
