#!/usr/bin/python3
"""get_ko_en.py OUT [--debs DIR]: English-Korean paragraph pairs from Debian's
LibreOffice help (libreoffice-help-en-us and libreoffice-help-ko, LibreOffice 7.4; the
help texts are under the MPL-2.0, parts Apache-2.0: see
/usr/share/doc/libreoffice-help-*/copyright in the packages).

Both packages are fetched with `apt-get download` (no root needed; nothing is
installed) into a temporary directory, or taken from DIR when it already holds the two
.deb files; they are unpacked with dpkg-deb. Each help page (text/**/*.html) exists in
both languages with the same paragraph ids (<p id="par_id...">, <h1 id="hd_id...">,
table cells and list items alike), so a pair is the text of the element with the same
id in the same page: hidden elements (other platforms' variants) are left out,
whitespace is collapsed, pairs where either side is empty or both are the same text
(untranslated: code, names, numbers) are dropped. LibreOffice 7.4's help gives 27,894
pairs (a paragraph shared by several pages is a pair of each page).

Writes into OUT (created; files replaced atomically, nothing else touched):
  pairs.jsonl  {"src": English, "tgt": Korean, "id": "page#id"} per line
  pairs.tsv    English<TAB>Korean per line (tabs and newlines inside became spaces)
  train.jsonl, val.jsonl, test.jsonl: the same pairs split 98/1/1 by a hash of the
  English text (stable across runs; a text repeated on several pages stays in one
  split, so no test sentence is in the training data)
and prints the number of pairs. The data is never committed to the repository."""
import hashlib
import html.parser
import json
import os
import re
import subprocess
import sys
import tempfile

PKGS = ["libreoffice-help-en-us", "libreoffice-help-ko"]
ROOTS = {"libreoffice-help-en-us": "usr/share/libreoffice/help/en-US",
         "libreoffice-help-ko": "usr/share/libreoffice/help/ko"}
ID_RE = re.compile(r"^(par|hd)_")
VOID = {"br", "img", "input", "meta", "link", "hr", "base", "col", "area", "wbr", "source", "embed", "param", "track"}


class Paragraphs(html.parser.HTMLParser):
    """Text of every element whose id starts with par_ or hd_ (nested ones apart)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack = []      # (tag, id or None, hidden)
        self.open = []       # [id, [text parts]] being collected
        self.out = {}

    def hidden(self):
        return any(h for _, _, h in self.stack)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag in VOID:
            if tag == "br" and self.open and not self.hidden():
                self.open[-1][1].append(" ")
            return
        pid = a.get("id") if a.get("id") and ID_RE.match(a.get("id")) else None
        self.stack.append((tag, pid, "hidden" in a))
        if pid:
            self.open.append([pid, []])

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        # close up to the matching tag (the help pages are well formed; be lenient)
        for k in range(len(self.stack) - 1, -1, -1):
            if self.stack[k][0] == tag:
                for t, pid, _ in reversed(self.stack[k:]):
                    if pid and self.open and self.open[-1][0] == pid:
                        p, parts = self.open.pop()
                        text = " ".join("".join(parts).split())
                        if p not in self.out:
                            self.out[p] = text
                del self.stack[k:]
                break

    def handle_data(self, data):
        if self.open and not self.hidden():
            self.open[-1][1].append(data)


def page_paragraphs(path):
    p = Paragraphs()
    with open(path, encoding="utf-8", errors="replace") as f:
        p.feed(f.read())
    p.close()
    return p.out


def fetch(debs, work):
    have = {}
    if debs:
        for name in os.listdir(debs):
            for pkg in PKGS:
                if name.startswith(pkg + "_") and name.endswith(".deb"):
                    have[pkg] = os.path.join(debs, name)
    missing = [p for p in PKGS if p not in have]
    if missing:
        r = subprocess.run(["apt-get", "-o", "Acquire::http::Timeout=30", "-o", "Acquire::Retries=1", "download"]
                           + missing, cwd=work, capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("get_ko_en.py: apt-get download %s failed (is apt reachable? `apt-get update` first):\n%s"
                     % (" ".join(missing), r.stderr.strip()))
        for name in os.listdir(work):
            for pkg in missing:
                if name.startswith(pkg + "_") and name.endswith(".deb"):
                    have[pkg] = os.path.join(work, name)
    for pkg in PKGS:
        if pkg not in have:
            sys.exit("get_ko_en.py: no .deb of %s" % pkg)
        dest = os.path.join(work, pkg)
        r = subprocess.run(["dpkg-deb", "-x", have[pkg], dest], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit("get_ko_en.py: dpkg-deb -x %s: %s" % (have[pkg], r.stderr.strip()))
    return {pkg: os.path.join(work, pkg, ROOTS[pkg]) for pkg in PKGS}


def pairs_of(roots):
    en_root, ko_root = roots[PKGS[0]], roots[PKGS[1]]
    pages = []
    for d, _, files in os.walk(os.path.join(en_root, "text")):
        for f in files:
            if f.endswith(".html"):
                rel = os.path.relpath(os.path.join(d, f), en_root)
                if os.path.exists(os.path.join(ko_root, rel)):
                    pages.append(rel)
    if not pages:
        sys.exit("get_ko_en.py: no help pages found under %s" % en_root)
    out = []
    for rel in sorted(pages):
        en = page_paragraphs(os.path.join(en_root, rel))
        ko = page_paragraphs(os.path.join(ko_root, rel))
        for pid, src in en.items():
            tgt = ko.get(pid, "")
            if not src or not tgt or src == tgt:
                continue
            out.append({"src": src, "tgt": tgt, "id": rel[len("text/"):] + "#" + pid})
    return out


def write_atomic(path, lines):
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=os.path.dirname(path))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            for l in lines:
                f.write(l + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if args else 2)
    out, debs = args[0], None
    if len(args) == 3 and args[1] == "--debs":
        debs = args[2]
    elif len(args) != 1:
        sys.exit("usage: get_ko_en.py OUT [--debs DIR]")
    with tempfile.TemporaryDirectory(prefix="gptc-ko-en.") as work:
        pairs = pairs_of(fetch(debs, work))
    os.makedirs(out, exist_ok=True)
    js = [json.dumps(p, ensure_ascii=False) for p in pairs]
    clean = lambda s: " ".join(s.replace("\t", " ").split())
    write_atomic(os.path.join(out, "pairs.jsonl"), js)
    write_atomic(os.path.join(out, "pairs.tsv"), [clean(p["src"]) + "\t" + clean(p["tgt"]) for p in pairs])
    split = {"train": [], "val": [], "test": []}
    for p, j in zip(pairs, js):
        h = int(hashlib.sha256(p["src"].encode()).hexdigest()[:8], 16) % 100
        split["val" if h == 0 else "test" if h == 1 else "train"].append(j)
    for k, v in split.items():
        write_atomic(os.path.join(out, k + ".jsonl"), v)
    print("%d pairs (train %d, val %d, test %d) in %s" % (len(pairs), len(split["train"]), len(split["val"]),
                                                       len(split["test"]), out))


if __name__ == "__main__":
    main()
