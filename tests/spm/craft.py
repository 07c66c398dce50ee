#!/usr/bin/python3
"""craft.py MODE IN.model OUT.model: rewrites a trained model into one spm_train does not
make, with its own protobuf codec (independent of gptc's reader), for tests/t_spm.sh:
  unused   every 7th multi-character NORMAL piece becomes UNUSED (unigram skips them,
           BPE splits them back: its resegmentation)
  user     every 11th multi-character NORMAL piece becomes USER_DEFINED (kept whole by
           the normalizer; unigram scores them length * max_score - 0.1)
  negative as user, and every NORMAL score made negative (max_score is then FLT_MIN)
  fields   unk_surface "<?>"; the trainer spec split in two messages (protobuf merges
           them); unknown fields of every wire type (a nested group too) at the top
           level, in pieces and in the specs; the normalizer spec given twice
Then tests/t_spm.sh compares gptc with python3-sentencepiece on the result."""
import struct
import sys

mode, src, dst = sys.argv[1:4]


def varint(b, i):
    x = s = 0
    while True:
        c = b[i]
        i += 1
        x |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return x, i


def parse(b):  # -> [(field, wire, value bytes or int)]
    out, i = [], 0
    while i < len(b):
        tag, i = varint(b, i)
        f, w = tag >> 3, tag & 7
        if w == 0:
            v, i = varint(b, i)
        elif w == 2:
            n, i = varint(b, i)
            v, i = b[i:i + n], i + n
        elif w == 5:
            v, i = b[i:i + 4], i + 4
        elif w == 1:
            v, i = b[i:i + 8], i + 8
        else:
            raise SystemExit("craft.py: unexpected wire type %d" % w)
        out.append((f, w, v))
    return out


def enc_varint(x):
    x &= (1 << 64) - 1
    o = bytearray()
    while True:
        c = x & 0x7F
        x >>= 7
        if x:
            o.append(c | 0x80)
        else:
            o.append(c)
            return bytes(o)


def ser(fields):
    o = bytearray()
    for f, w, v in fields:
        if w == "raw":  # pre-encoded bytes (a group)
            o += v
            continue
        o += enc_varint(f << 3 | w)
        if w == 0:
            o += enc_varint(v)
        elif w == 2:
            o += enc_varint(len(v)) + v
        else:
            o += v
    return bytes(o)


top = parse(open(src, "rb").read())
junk = [(99, 0, 12345), (98, 1, b"\x01" * 8), (97, 5, b"\x02" * 4), (96, 2, b"skip me"),
        (95, "raw", enc_varint(95 << 3 | 3) + enc_varint(1 << 3 | 0) + b"\x05" +
         enc_varint(2 << 3 | 3) + enc_varint(7 << 3 | 2) + b"\x01x" + enc_varint(2 << 3 | 4) +
         enc_varint(95 << 3 | 4))]
out, k = [], 0
for f, w, v in top:
    if f == 1:
        p = parse(v)
        piece = next((x for g, _, x in p if g == 1), b"")
        typ = next((x for g, _, x in p if g == 3), 1)
        score = next((struct.unpack("<f", x)[0] for g, _, x in p if g == 2), 0.0)
        multi = len(piece.decode("utf-8", "replace")) > 1
        if typ == 1 and multi:
            k += 1
            new = None
            if mode == "unused" and k % 7 == 0:
                new = 5
            if mode in ("user", "negative") and k % 11 == 0:
                new = 4
            if new:
                p = [x for x in p if x[0] != 3] + [(3, 0, new)]
        if mode == "negative" and typ == 1:
            p = [x for x in p if x[0] != 2] + [(2, 5, struct.pack("<f", -abs(score) - 0.5))]
        if mode == "fields":
            p = junk[:2] + p + junk[2:]
        out.append((1, 2, ser(p)))
    elif f == 2 and mode == "fields":
        t = parse(v)
        first = [x for x in t if x[0] != 3] + [(44, 2, b"<?>")] + junk
        second = [x for x in t if x[0] == 3]
        out += [(2, 2, ser(first)), (99, 0, 7), (2, 2, ser(second))]
    elif f == 3 and mode == "fields":
        n = parse(v)
        out += [(3, 2, ser([x for x in n if x[0] == 1] + junk)), (3, 2, ser(n))]
    else:
        out.append((f, w, v))
if mode == "fields":
    out = junk + out
open(dst, "wb").write(ser(out))
