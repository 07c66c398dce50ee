#!/usr/bin/python3
"""standin.py: a small stand-in for the Hugging Face Hub on loopback, for tests/t_hub.sh.

Serves the repositories under ROOT (ROOT/ORG/NAME/<files>) the way huggingface.co does:
  GET  /api/models/REPO/revision/REV  -> {"id", "sha", "siblings": [{"rfilename"}]}
  HEAD/GET /REPO/resolve/REV/FILE     -> a plain file: 200, ETag = its git blob id
                                          (sha1 of "blob SIZE\\0" + bytes), X-Repo-Commit;
                                          an LFS file (*.safetensors, *.bin): 302 to an
                                          absolute /cdn/SHA256 URL with X-Linked-Etag =
                                          sha256, X-Linked-Size, X-Repo-Commit
  GET  /cdn/SHA256                    -> the bytes, Range requests answered with 206
An alias repository answers 307 with a relative Location (as a renamed repository does).
Errors carry X-Error-Code / X-Error-Message: 404 RepoNotFound, RevisionNotFound,
EntryNotFound; a gated repository needs "Authorization: Bearer TOKEN" (401 without, 403
with a wrong one). Faults (the control file, re-read on every request, JSON):
  {"drop": {"FILE": N}, "id": X}  the first GET of FILE's CDN bytes (once per id) sends N
                            bytes, then closes the connection
  {"corrupt": ["FILE"]}     FILE's CDN bytes are served with one byte changed
  {"stall": {"FILE": N}}    FILE's CDN transfers send N bytes, then nothing for 120 s
Every request is logged to LOG as "METHOD PATH RANGE AUTH" lines.
usage: standin.py ROOT CONFIG.json CONTROL.json LOG PORTFILE
CONFIG: {"commit": {"ORG/NAME": "40 hex"}, "alias": {"OLD": "ORG/NAME"}, "gated": {"ORG/NAME": "TOKEN"}}
"""
import hashlib, http.server, json, os, socketserver, sys, threading, urllib.parse

ROOT, CONFIG, CONTROL, LOG, PORTFILE = sys.argv[1:6]
cfg = json.load(open(CONFIG))
lock = threading.Lock()
dropped = set()


def control():
    try:
        return json.load(open(CONTROL))
    except (OSError, ValueError):
        return {}


def is_lfs(name):
    return name.endswith(".safetensors") or name.endswith(".bin")


def files_of(repo):
    base = os.path.join(ROOT, repo)
    out = []
    for d, _, fs in os.walk(base):
        for f in fs:
            out.append(os.path.relpath(os.path.join(d, f), base))
    return sorted(out)


def git_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def log(self):
        with lock, open(LOG, "a") as f:
            f.write("%s %s %s %s\n" % (self.command, self.path, self.headers.get("Range", "-"),
                                       self.headers.get("Authorization", "-").replace(" ", "_")))

    def reply(self, code, headers=(), body=b""):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def error(self, code, ecode, msg):
        self.reply(code, [("X-Error-Code", ecode), ("X-Error-Message", msg), ("Content-Type", "application/json")],
                   json.dumps({"error": msg}).encode())

    def allowed(self, repo):
        tok = cfg.get("gated", {}).get(repo)
        if tok is None:
            return True
        auth = self.headers.get("Authorization")
        if auth is None:
            self.error(401, "GatedRepo", "Access to model %s is restricted. You must have access to it and be "
                       "authenticated to access it. Please log in." % repo)
            return False
        if auth != "Bearer " + tok:
            self.error(403, "GatedRepo", "Access to model %s is restricted and you are not in the authorized list."
                       % repo)
            return False
        return True

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        self.log()
        path = urllib.parse.urlsplit(self.path).path
        if path.startswith("/api/models/"):
            rest = path[len("/api/models/"):]
            if "/revision/" not in rest:
                return self.error(404, "EntryNotFound", "no route")
            repo, rev = rest.split("/revision/", 1)
            rev = urllib.parse.unquote(rev)
            if repo in cfg.get("alias", {}):
                return self.reply(307, [("Location", "/api/models/%s/revision/%s" % (cfg["alias"][repo],
                                                                                  urllib.parse.quote(rev, safe="")))])
            if repo not in cfg["commit"]:
                return self.error(404, "RepoNotFound", "Repository not found")
            if not self.allowed(repo):
                return
            if rev not in ("main", cfg["commit"][repo]):
                return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
            body = json.dumps({"id": repo, "sha": cfg["commit"][repo],
                               "siblings": [{"rfilename": f} for f in files_of(repo)]}).encode()
            return self.reply(200, [("Content-Type", "application/json")], body)
        if path.startswith("/cdn/"):
            return self.cdn(path[5:])
        if "/resolve/" in path:
            repo, rest = path[1:].split("/resolve/", 1)
            rev, name = rest.split("/", 1)
            name = urllib.parse.unquote(name)
            if repo in cfg.get("alias", {}):
                return self.reply(307, [("Location", "/%s/resolve/%s/%s" % (cfg["alias"][repo], rev,
                                                                           urllib.parse.quote(name)))])
            if repo not in cfg["commit"]:
                return self.error(404, "RepoNotFound", "Repository not found")
            if not self.allowed(repo):
                return
            commit = cfg["commit"][repo]
            if rev not in ("main", commit):
                return self.error(404, "RevisionNotFound", "Invalid rev id: %s" % rev)
            fp = os.path.join(ROOT, repo, name)
            if not os.path.isfile(fp):
                return self.error(404, "EntryNotFound", "Entry not found")
            data = open(fp, "rb").read()
            if is_lfs(name):
                sha = hashlib.sha256(data).hexdigest()
                with lock:
                    self.server.blobs[sha] = (repo, name)
                # the CDN is another host name for the same server, so a client that
                # forwards the token to it shows in the log
                host = "localhost:%d" % self.server.server_address[1]
                return self.reply(302, [("Location", "http://%s/cdn/%s" % (host, sha)), ("X-Repo-Commit", commit),
                                        ("X-Linked-Etag", '"%s"' % sha), ("X-Linked-Size", str(len(data))),
                                        ("ETag", '"%s"' % git_oid(b"pointer " + sha.encode()))])
            return self.reply(200, [("ETag", '"%s"' % git_oid(data)), ("X-Repo-Commit", commit),
                                    ("Accept-Ranges", "bytes")], data)
        self.error(404, "EntryNotFound", "no route")

    def cdn(self, sha):
        with lock:
            where = self.server.blobs.get(sha)
        if where is None:
            return self.reply(403, [], b"AccessDenied")
        repo, name = where
        data = open(os.path.join(ROOT, repo, name), "rb").read()
        ctl = control()
        if name in ctl.get("corrupt", []):
            data = data[:len(data) // 2] + bytes([data[len(data) // 2] ^ 0x55]) + data[len(data) // 2 + 1:]
        start = 0
        rng = self.headers.get("Range")
        if rng and rng.startswith("bytes=") and rng.endswith("-"):
            start = int(rng[6:-1])
            if start >= len(data):
                return self.reply(416, [("Content-Range", "bytes */%d" % len(data))])
        body = data[start:]
        self.send_response(206 if rng else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        if rng:
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, len(data) - 1, len(data)))
        self.end_headers()
        if self.command == "HEAD":
            return
        stall = ctl.get("stall", {}).get(name)
        if stall is not None:
            self.wfile.write(body[:stall])
            self.wfile.flush()
            import time
            time.sleep(120)
            self.close_connection = True
            return
        n = ctl.get("drop", {}).get(name)
        key = (str(ctl.get("id")), name)
        with lock:
            drop = n is not None and key not in dropped
            if drop:
                dropped.add(key)
        if drop:
            self.wfile.write(body[:n])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


srv = Server(("127.0.0.1", 0), H)
srv.blobs = {}
with open(PORTFILE + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(PORTFILE + ".tmp", PORTFILE)
srv.serve_forever()
