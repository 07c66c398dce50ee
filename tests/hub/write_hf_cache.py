#!/usr/bin/python3
"""write_hf_cache.py: writes a cache entry by hand the way huggingface_hub (and so
transformers) leaves one after from_pretrained: blobs named by ETag (sha256 for LFS
files, the git blob id for the others), snapshots/COMMIT/FILE relative symlinks made with
os.path.relpath as its _create_symlink does, refs/main holding the commit (no newline),
an empty .locks folder. usage: write_hf_cache.py CACHE REPO COMMIT SRCDIR"""
import hashlib, os, sys

cache, repo, commit, src = sys.argv[1:5]
d = os.path.join(cache, "models--" + repo.replace("/", "--"))
os.makedirs(os.path.join(d, "blobs"), exist_ok=True)
os.makedirs(os.path.join(d, "refs"), exist_ok=True)
os.makedirs(os.path.join(cache, ".locks", "models--" + repo.replace("/", "--")), exist_ok=True)
for f in sorted(os.listdir(src)):
    data = open(os.path.join(src, f), "rb").read()
    lfs = f.endswith(".safetensors")
    etag = hashlib.sha256(data).hexdigest() if lfs else hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    blob = os.path.join(d, "blobs", etag)
    with open(blob, "wb") as o:
        o.write(data)
    ptr = os.path.join(d, "snapshots", commit, f)
    os.makedirs(os.path.dirname(ptr), exist_ok=True)
    os.symlink(os.path.relpath(blob, os.path.dirname(ptr)), ptr)
with open(os.path.join(d, "refs", "main"), "w") as o:
    o.write(commit)
