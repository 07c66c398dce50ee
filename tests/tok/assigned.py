# assigned.py: prints, as JSON [[first, last], ...], the code points of planes 0-2 that
# are assigned (not Cn, not surrogates) in this Python's Unicode version (Debian 12:
# 14.0, the version PCRE2 10.42 knows). tests/tok/gen.js draws random code points from
# these only: tiktoken's Rust regex knows newer versions, where later additions are
# letters that PCRE2 still sees as unassigned.
import json
import unicodedata

ranges = []
for cp in range(0x30000):
    if unicodedata.category(chr(cp)) in ("Cn", "Cs"):
        continue
    if ranges and ranges[-1][1] == cp - 1:
        ranges[-1][1] = cp
    else:
        ranges.append([cp, cp])
print(json.dumps({"unicode": unicodedata.unidata_version, "ranges": ranges}))
