#!/usr/bin/env python3
"""force_token.py MODEL_DIR TOKEN_ID: rewrites MODEL_DIR/model.safetensors (F32, tied
embeddings) so that greedy decoding always picks TOKEN_ID: ln_f's weight becomes 0 and
its bias a large multiple of wte[TOKEN_ID], so the final hidden state (and the logits)
no longer depend on the input. Used to make a tiny model emit, e.g., one byte of a
multi-byte UTF-8 character."""
import json, struct, sys

path = sys.argv[1] + "/model.safetensors"
tok = int(sys.argv[2])
d = bytearray(open(path, "rb").read())
n = struct.unpack("<Q", d[:8])[0]
hdr = json.loads(d[8:8 + n])
base = 8 + n

def tensor(suffix):
    for k, v in hdr.items():
        if k.endswith(suffix):
            assert v["dtype"] == "F32", k
            return v
    raise SystemExit("force_token.py: no tensor *%s in %s" % (suffix, path))

wte, lw, lb = tensor("wte.weight"), tensor("ln_f.weight"), tensor("ln_f.bias")
C = wte["shape"][1]
o = base + wte["data_offsets"][0] + 4 * C * tok
row = struct.unpack("<%df" % C, d[o:o + 4 * C])
norm = sum(x * x for x in row) ** 0.5
bias = [1000.0 * x / norm for x in row]
o = base + lw["data_offsets"][0]
d[o:o + 4 * C] = struct.pack("<%df" % C, *([0.0] * C))
o = base + lb["data_offsets"][0]
d[o:o + 4 * C] = struct.pack("<%df" % C, *bias)
open(path, "wb").write(bytes(d))
