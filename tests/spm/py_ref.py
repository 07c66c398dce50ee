#!/usr/bin/python3
"""py_ref.py MODEL TEXT OUT_PREFIX: python3-sentencepiece's ids, pieces and decoding of
every line of TEXT (bytes as they are) into OUT_PREFIX.{ids,pieces,dec}, the formats of
spm_encode/spm_decode, for tests/t_spm.sh."""
import sys
import sentencepiece as spm

sp = spm.SentencePieceProcessor(model_file=sys.argv[1])
lines = open(sys.argv[2], "rb").read().split(b"\n")
if lines and lines[-1] == b"":
    lines.pop()
with open(sys.argv[3] + ".ids", "w") as fi, open(sys.argv[3] + ".pieces", "wb") as fp, \
        open(sys.argv[3] + ".dec", "wb") as fd:
    for l in lines:
        ids = sp.encode(l, out_type=int)
        fi.write(" ".join(map(str, ids)) + "\n")
        fp.write(b" ".join(p.encode("utf-8", "surrogateescape") if isinstance(p, str) else p
                           for p in sp.encode(l, out_type=str)) + b"\n")
        d = sp.decode(ids)
        fd.write((d.encode("utf-8", "surrogateescape") if isinstance(d, str) else d) + b"\n")
    print("unk %d bos %d eos %d pad %d n %d" % (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id(),
                                                 sp.get_piece_size()))
