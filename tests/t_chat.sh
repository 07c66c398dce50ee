#!/usr/bin/env bash
# t_chat.sh: `gptc chat` in a pseudo-terminal (python's pty module): three turns, the line
# editor (backspace over a Hangul syllable, up-arrow history), /params, /save, /reset and
# /quit; the chat template markers as ids past the tokenizer's vocabulary and as text; and
# the same conversation from a pipe.
source "$(dirname "$0")/lib.sh"
trap 'rm -rf "$T"' EXIT

"$GPTC" init --out "$T/ids" --preset tiny --n-positions 512 --vocab-size 50259 --seed 4 >/dev/null 2>&1
"$GPTC" init --out "$T/txt" --preset tiny --n-positions 512 --seed 4 >/dev/null 2>&1
[ -f "$T/ids/vocab.json" ] && [ -f "$T/txt/vocab.json" ] || fail "chat models" "gptc init wrote no tokenizer"

for kind in ids txt; do
    $PY - "$GPTC" "$T/$kind" "$T/save_$kind" "$kind" <<'EOF'
import json, os, pty, select, sys, time
gptc, model, save, kind = sys.argv[1:5]

def report(ok, name, why=""):
    print(("PASS chat (%s markers) %s" % (kind, name)) if ok else ("FAIL chat (%s markers) %s: %s" % (kind, name, why)))
    sys.stdout.flush()

pid, fd = pty.fork()
if pid == 0:
    os.execv(gptc, [gptc, "chat", "--model", model, "--max-new-tokens", "8", "--system", "Answer briefly.",
                    "--threads", "1"])
buf = b""

def read_until(pat, timeout=30):
    """Reads the terminal until pat appears after what was read before; returns the new text."""
    global buf
    start = len(buf)
    end = time.time() + timeout
    while time.time() < end:
        if pat in buf[start:]:
            return buf[start:].decode("utf-8", "replace")
        r, _, _ = select.select([fd], [], [], 0.2)
        if r:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            buf += chunk
    raise SystemExit("FAIL chat (%s markers): timed out waiting for %r; screen: %r" % (kind, pat, buf[-400:]))

def send(s):
    os.write(fd, s.encode("utf-8"))

read_until(b"> ")
turns = []
for text in ["hello there", "\ud55c\uae00\ub85c \ub300\ub2f5\ud574", "third question?"]:
    if text.startswith("\ud55c"):  # type an extra syllable and erase it with one backspace
        send(text + "\ub9d0\x7f\r")
    else:
        send(text + "\r")
    out = read_until(b"\r\n\r\x1b[K> ")
    turns.append(out)
report(all(len(t.strip()) > len("> ") for t in turns), "three turns each get a reply", repr(turns))
send("\x1b[A\r")  # up arrow: the last line again (a fourth turn)
read_until(b"\r\n\r\x1b[K> ")
send("/params\r")
out = read_until(b"\r\n\r\x1b[K> ")
report("max_new_tokens=8" in out, "/params", repr(out))
send("/save %s\r" % save)
read_until(b"\r\n\r\x1b[K> ")
msgs = json.load(open(save))["messages"]
roles = [m["role"] for m in msgs]
report(roles == ["system"] + ["user", "assistant"] * 4, "/save writes the conversation", roles)
users = [m["content"] for m in msgs if m["role"] == "user"]
report(users == ["hello there", "\ud55c\uae00\ub85c \ub300\ub2f5\ud574", "third question?", "third question?"],
       "line editor: backspace erases a whole Hangul syllable, up-arrow recalls history", repr(users))
report(msgs[0]["content"] == "Answer briefly.", "system message kept", msgs[0])
send("/reset\r")
out = read_until(b"\r\n\r\x1b[K> ")
report("reset" in out, "/reset", repr(out))
send("after reset\r")
read_until(b"\r\n\r\x1b[K> ")
send("/save %s\r" % save)
read_until(b"\r\n\r\x1b[K> ")
roles = [m["role"] for m in json.load(open(save))["messages"]]
report(roles == ["system", "user", "assistant"], "/reset forgets the turns, keeps the system message", roles)
send("/quit\r")
_, status = os.waitpid(pid, 0)
report(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, "/quit exits 0", status)
EOF
done

"$GPTC" init --out "$T/small" --preset tiny --n-positions 96 --vocab-size 50259 --seed 4 >/dev/null 2>&1
# a pipe: no line editor; the same commands; a long conversation is trimmed to the context
{ for i in 1 2 3 4 5 6 7 8; do echo "message number $i with a few more words to fill the context"; done
  echo "/save $T/pipe.json"; } | "$GPTC" chat --model "$T/small" --max-new-tokens 8 --system "sys" >"$T/pipe.out" 2>"$T/pipe.err"
rc=$?
if [ $rc = 0 ] && $PY - "$T/pipe.json" <<'EOF'
import json, sys
m = json.load(open(sys.argv[1]))["messages"]
ok = m[0] == {"role": "system", "content": "sys"} and m[-2]["content"].startswith("message number 8") and len(m) < 17
sys.exit(0 if ok else 1)
EOF
then pass "chat from a pipe; history trimmed from the oldest turn"
else fail "chat from a pipe; history trimmed from the oldest turn" "rc $rc: $(head -c 300 "$T/pipe.err")"; fi
grep -q "history trimmed" "$T/pipe.err" && pass "trimming is reported" || fail "trimming is reported" "$(head -c 300 "$T/pipe.err")"
"$GPTC" init --out "$T/notok" --preset tiny --no-tokenizer >/dev/null 2>&1
expect_error "chat without a tokenizer" "needs a tokenizer" "$GPTC" chat --model "$T/notok"
