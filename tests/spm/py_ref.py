#!/usr/bin/python3
"""py_ref.py MODEL TEXT OUT_PREFIX: python3-sentencepiece's ids, pieces and decoding of
every line of TEXT (bytes as they are) into OUT_PREFIX.{ids,pieces,dec}, the formats of
spm_encode/spm_decode, for tests/t_spm.sh; then, on stdout, the special ids and every
piece as tests/tool_spm_info.c prints them. TEXT "-": only the latter."""
import sys
import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
lines = open(sys.argv[2], "rb").read().split(b"\n") if sys.argv[2] != "-" else []
if lines and lines[-1] == b"":
    lines.pop()
out = sys.argv[3] if sys.argv[2] != "-" else "/dev/null"
with open(out + ".ids" * (out != "/dev/null"), "w") as fi, open(out + ".pieces" * (out != "/dev/null"), "wb") as fp, \
        open(out + ".dec" * (out != "/dev/null"), "wb") as fd:
    for l in lines:
        ids = sp.encode(l, out_type=int)
        fi.write(" ".join(map(str, ids)) + "\n")
        fp.write(b" ".join(p.encode("utf-8", "surrogateescape") if isinstance(p, str) else p
                           for p in sp.encode(l, out_type=str)) + b"\n")
        d = sp.decode(ids)
        fd.write((d.encode("utf-8", "surrogateescape") if isinstance(d, str) else d) + b"\n")
    print("unk %d bos %d eos %d pad %d n %d" % (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id(),
                                                 sp.get_piece_size()))
    # every piece: id, type (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused,
    # 6 byte), score, text: the format of tests/tool_spm_info.c
    for i in range(sp.get_piece_size()):
        t = (2 if sp.is_unknown(i) else 3 if sp.is_control(i) else 5 if sp.is_unused(i) else
             6 if sp.is_byte(i) else 0)
        print("%d\t%d\t%.9g\t%s" % (i, t, sp.get_score(i), sp.id_to_piece(i)))
