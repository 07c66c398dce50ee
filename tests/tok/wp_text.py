# wp_text.py SEED BYTES OUT: about BYTES bytes of text aimed at WordPiece's corners (the same
# text for the same SEED): words of 99..102 characters (max_input_chars_per_word is 100;
# Korean syllables that become 3 jamo each when lower-cased), special tokens inside text and
# words ([MASK], [CLS], [SEP], [PAD], [UNK], their lower-case and broken forms), control
# and format characters, every kind of white space, accents precomposed and decomposed with
# runs of combining marks in random order (canonical ordering), Hangul (syllables and
# jamo), CJK (BMP and supplementary planes), punctuation of many scripts, emoji.
import random, sys

seed, want, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
r = random.Random(seed)
words = ("the of and to in is that it was for on are as with his they at be this from have or by one had not "
         "but what all were when we there can an your which said if do will each about how up out them then she "
         "Hello World BERT Transformer Seoul naïve café résumé façade Zürich Ångström İstanbul ΣΙΣΥΦΟΣ Москва "
         "straße Tiếng Việt Ελληνικά Ωμέγα ﬁnancial ǅemal").split()
korean = ["안녕하세요", "감사합니다", "한국어", "토크나이저", "서울특별시", "읽었다", "했습니다", "각", "ㄱㄴㄷ"]
cjk = ["你好", "世界", "中文", "漢字", "語言", "\U00020000", "\U0002A6D6", "\U0002B740", "\U0002B820", "\U0002B91F",
       "\U0002B920", "\U0002CEAF", "\U0002F800", "\U00030000", "\uF900", "\u3400", "\u4DBF", "\u9FFF"]
specials = ["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "[MASK", "MASK]", "[[MASK]]", "[MAS K]"]
controls = ["\x00", "\x01", "\x07", "\x0b", "\x0c", "\x1b", "\x1f", "\x7f", "\x85", "\xad", "\u200b", "\u200c",
            "\u200d", "\u200e", "\u2060", "\ufeff", "\ufffd", "\ue000", "\U000F0000", "\u061c", "\U000E0001"]
spaces = [" ", "\t", "\n", "\r\n", "\u00a0", "\u1680", "\u2000", "\u2009", "\u200a", "\u2028", "\u2029", "\u202f",
          "\u205f", "\u3000", "\u180e"]
marks = ["\u0300", "\u0301", "\u0302", "\u0308", "\u0323", "\u0327", "\u0328", "\u031b", "\u0345", "\u05b0",
         "\u0e38", "\u0e48", "\u302a", "\u0f71", "\u0f72", "\U0001D165", "\U0001D16D", "\u093c", "\u094d", "\u20dd"]
bases = ["a", "e", "o", "A", "E", "I", "i", "u", "n", "c", "ᄀ", "가", "α", "Ω", "ж", "ก", "क"]
punct = list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~") + ["…", "—", "–", "「", "」", "『", "』", "《", "》", "¿", "¡",
         "·", "※", "†", "‰", "′", "、", "。", "，", "！", "？", "٪", "۔", "।", "॥", "־", "׳", "⸮", "⹆", "‽", "§", "¶"]
emoji = ["😀", "👍🏽", "👩‍💻", "🇰🇷", "❤️", "✨", "🤖", "©", "™"]

def long_word():
    n = r.choice([99, 100, 101, 102, 150])
    k = r.randrange(4)
    if k == 0: return "".join(r.choice("abcdefghij") for _ in range(n))
    if k == 1: return "가" * (n // 3 + r.randrange(-1, 2))       # uncased: 3 jamo per syllable
    if k == 2: return "é" * (n // 2 + r.randrange(-1, 2))        # uncased: e + mark, mark dropped
    return "x" * (n - 1) + r.choice(["\u0301", "İ", "ß", "!"])

def chunk():
    k = r.randrange(100)
    if k < 25: return " ".join(r.choice(words) for _ in range(r.randrange(2, 12))) + r.choice([". ", "\n", "! ", ", "])
    if k < 32: return long_word() + r.choice([" ", "\n", "."])
    if k < 42:
        w = r.choice(words)
        s = r.choice(specials)
        return r.choice([f"the {s} is ", f"{w}{s}{w} ", f"{s}{s} ", f"({s}) ", f" {s}", f"{s}."])
    if k < 50: return r.choice(words) + "".join(r.choice(controls) for _ in range(r.randrange(1, 4))) + r.choice(words) + " "
    if k < 56: return r.choice(words) + "".join(r.choice(spaces) for _ in range(r.randrange(1, 5))) + r.choice(words)
    if k < 68: return "".join(r.choice(bases) + "".join(r.choice(marks) for _ in range(r.randrange(0, 5)))
                              for _ in range(r.randrange(1, 6))) + r.choice([" ", "", "\n"])
    if k < 76: return " ".join(r.choice(korean) for _ in range(r.randrange(1, 6))) + r.choice([". ", "\n"])
    if k < 84: return "".join(r.choice(cjk) + r.choice(["", " ", "a", "。"]) for _ in range(r.randrange(1, 8)))
    if k < 92: return "".join(r.choice(words) + r.choice(punct) for _ in range(r.randrange(1, 6))) + " "
    return "".join(r.choice(emoji) + r.choice(["", " ", "a"]) for _ in range(r.randrange(1, 6)))

parts, size = [], 0
while size < want:
    c = chunk()
    parts.append(c)
    size += len(c.encode("utf-8"))
open(out, "w", encoding="utf-8", newline="").write("".join(parts))
