#!/usr/bin/python3
"""check_cache.py: holds a Hugging Face cache entry against huggingface_hub's layout, with
Python's hashlib and os as the reference (nothing of gptc's).
usage: check_cache.py TAG CACHE REPO COMMIT SRCDIR FILE...
Checks models--ORG--NAME/refs/main == COMMIT; every FILE is in snapshots/COMMIT as a
relative symlink to ../(../)*blobs/ETAG with the bytes of SRCDIR/FILE, ETAG = sha256 for
LFS files (*.safetensors, *.bin) and the git blob id for the others; no other file there;
no *.incomplete left in blobs/. Prints PASS/FAIL lines."""
import hashlib, os, sys

tag, cache, repo, commit, src = sys.argv[1:6]
files = sorted(sys.argv[6:])
d = os.path.join(cache, "models--" + repo.replace("/", "--"))
bad = []
try:
    ref = open(os.path.join(d, "refs", "main")).read()
    if ref != commit:
        bad.append("refs/main is %r, not %r" % (ref, commit))
except OSError as e:
    bad.append("refs/main: %s" % e)
snap = os.path.join(d, "snapshots", commit)
have = []
for root, dirs, fs in os.walk(snap):
    for f in fs:
        have.append(os.path.relpath(os.path.join(root, f), snap))
if sorted(have) != files:
    bad.append("snapshot holds %s, expected %s" % (sorted(have), files))
for f in files:
    p = os.path.join(snap, f)
    if not os.path.islink(p):
        bad.append("%s is not a symlink" % f)
        continue
    t = os.readlink(p)
    data = open(os.path.join(src, f), "rb").read()
    if f.endswith(".safetensors") or f.endswith(".bin"):
        etag = hashlib.sha256(data).hexdigest()
    else:
        etag = hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    want = "../" * (2 + f.count("/")) + "blobs/" + etag
    if t != want:
        bad.append("%s -> %s, expected %s" % (f, t, want))
    elif open(p, "rb").read() != data:
        bad.append("%s: bytes differ from the source" % f)
left = [b for b in os.listdir(os.path.join(d, "blobs")) if b.endswith(".incomplete")] if os.path.isdir(os.path.join(d, "blobs")) else []
if left:
    bad.append("left in blobs/: %s" % left)
print(("PASS %s" % tag) if not bad else ("FAIL %s: %s" % (tag, "; ".join(bad))))
