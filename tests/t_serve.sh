#!/usr/bin/env bash
# t_serve.sh: `gptc serve` on loopback ports, driven by npm's official openai client
# (tests/serve/*.cjs) on small models made here: output == `gptc generate` (greedy and
# seeded, completions and chat, streamed and not), 8 concurrent streams == each alone,
# every error status, a disconnect mid-stream, embeddings vs PyTorch, a full queue (503),
# --timeout (408), SIGTERM draining a stream and exiting 0, a burst of 200 requests 16 at
# a time under ASan, and the chat page in headless Chromium (playwright-core).
source "$(dirname "$0")/lib.sh"
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; rm -rf "$T"; }
trap cleanup EXIT
SERVER_BIN=${SERVER_BIN:-$GPTC_ASAN}
[ -x "$SERVER_BIN" ] || SERVER_BIN=$GPTC

# start NAME ARGS...: starts `gptc serve --port 0 ARGS` (stderr in $T/NAME.log), waits for
# its "listening" line and sets PORT and SPID
start() {
    local name=$1; shift
    "$SERVER_BIN" serve --port 0 --threads 1 "$@" 2>"$T/$name.log" &
    SPID=$!
    PIDS+=("$SPID")
    PORT=""
    for _ in $(seq 1 300); do
        PORT=$(sed -n 's/.*listening on http:\/\/127\.0\.0\.1:\([0-9]*\).*/\1/p' "$T/$name.log")
        [ -n "$PORT" ] && return 0
        kill -0 "$SPID" 2>/dev/null || break
        sleep 0.1
    done
    fail "$name server starts" "no 'listening' line: $(head -c 400 "$T/$name.log")"
    return 1
}

# stop NAME: SIGTERM, exit status 0, no sanitizer report
stop() {
    local name=$1
    kill -TERM "$SPID"
    wait "$SPID"; local rc=$?
    if [ $rc = 0 ] && ! grep -q -E 'Sanitizer|runtime error|LeakSanitizer' "$T/$name.log"; then
        pass "$name server: SIGTERM -> exit 0, no sanitizer report"
    else
        fail "$name server: SIGTERM -> exit 0, no sanitizer report" "rc $rc: $(grep -m3 -E 'ERROR|runtime error' "$T/$name.log")"
    fi
}

# two small models (2 layers, 64 wide) on byte-level BPE vocabularies learned here from
# English and Korean text, small so that every step is quick under ASan: m without chat
# markers (ChatML spelled as text), c with <|im_start|> / <|im_end|> as special tokens
$PY - "$T/corpus.txt" <<'EOF2'
import random, sys
r = random.Random(1)
words = ("the cat sat on the mat and the dog ran to the park while a bird sang in the tree . hello world "
         "once upon a time there was a story about a small model that learned to talk , say what is it ? "
         "안녕하세요 세계 한국어 문장입니다 오늘 날씨가 좋네요 고양이가 매트 위에 앉았다 이야기 모델 말하기 몇 시예요").split()
open(sys.argv[1], "w").write("\n".join(" ".join(r.choice(words) for _ in range(12)) for _ in range(3000)) + "\n")
EOF2
"$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 400 --no-chat-markers --out "$T/tm" >/dev/null 2>&1
"$GPTC" tokenizer-train --input "$T/corpus.txt" --vocab-size 420 --out "$T/tc" >/dev/null 2>&1
nvocab() { $PY -c "import json, sys; print(len(json.load(open(sys.argv[1] + '/vocab.json'))))" "$1"; }
"$GPTC" init --out "$T/m" --preset tiny --n-positions 256 --vocab-size "$(nvocab "$T/tm")" --no-tokenizer --seed 4 >/dev/null 2>&1
"$GPTC" init --out "$T/c" --preset tiny --n-positions 256 --vocab-size "$(nvocab "$T/tc")" --no-tokenizer --seed 5 >/dev/null 2>&1
cp "$T"/tm/* "$T/m/" 2>/dev/null; cp "$T"/tc/* "$T/c/" 2>/dev/null
[ -f "$T/m/vocab.json" ] && [ -f "$T/c/vocab.json" ] || fail "serve models" "the models were not made"

expect_error "serve without --model" "model is required" "$GPTC" serve
expect_error "serve with a bad --parallel" "parallel: 0 is out of range" "$GPTC" serve --model "$T/m" --parallel 0
expect_error "serve with a model that is not there" "config.json" "$GPTC" serve --model "$T/nothing"
expect_error "serve with --ctx-size past n_positions" "ctx-size" "$GPTC" serve --model "$T/m" --ctx-size 9999
expect_error "serve with a host that is not an address" "host" "$GPTC" serve --model "$T/m" --host nowhere --port 0

# ---- the API against the openai client (ASan binary)
if start main --model "$T/m" --model "$T/c" --parallel 8 --api-key sekret --max-body 65536; then
    PORT=$PORT KEY=sekret GPTC=$GPTC MODEL=$T/m CMODEL=$T/c OUT=$T node "$ROOT/tests/serve/api.cjs"
    [ -f "$T/emb.json" ] && $PY "$ROOT/tests/ref/embed_torch.py" "$T/m" "$T/emb.json" "/v1/embeddings"
    stop main
fi

# ---- a burst of 200 requests, 16 at a time, under ASan
if start burst --model "$T/m" --parallel 8; then
    # the program re-executed itself with a short OpenMP spin (gptc_openmp_wait), nothing
    # in the environment having chosen one
    [ -n "$OMP_WAIT_POLICY$GOMP_SPINCOUNT" ] || { tr '\0' '\n' <"/proc/$SPID/environ" | grep -qx "GOMP_SPINCOUNT=1000" &&
        pass "serve runs with GOMP_SPINCOUNT=1000 when the environment sets no OpenMP wait policy" ||
        fail "serve runs with GOMP_SPINCOUNT=1000 when the environment sets no OpenMP wait policy" \
            "$(tr '\0' '\n' <"/proc/$SPID/environ" | grep -E 'OMP|GOMP')"; }
    PORT=$PORT MODEL=$T/m node "$ROOT/tests/serve/burst.cjs"
    stop burst
fi

# ---- a full queue, --timeout, SIGTERM draining: a model slow enough (6 layers, 384 wide, 480
# new tokens: a stream reusing the cached prompt still runs past --timeout 1 on a quiet machine)
"$GPTC" init --out "$T/big" --preset tiny --n-layer 6 --n-head 4 --n-embd 384 --n-positions 512 \
    --vocab-size "$(nvocab "$T/tm")" --no-tokenizer --seed 6 >/dev/null 2>&1 && cp "$T"/tm/* "$T/big/"
if start queue --model "$T/big" --parallel 1 --queue 1; then
    PORT=$PORT MODEL=$T/big MODE=queue node "$ROOT/tests/serve/misc.cjs"
    stop queue
fi
if start limits --model "$T/big" --parallel 2 --timeout 1; then
    PORT=$PORT MODEL=$T/big PID=$SPID TIMEOUT=1 node "$ROOT/tests/serve/misc.cjs"
    wait "$SPID"; rc=$?
    if [ $rc = 0 ] && ! grep -q -E 'Sanitizer|runtime error' "$T/limits.log"; then pass "limits server: drained and exited 0 after SIGTERM"
    else fail "limits server: drained and exited 0 after SIGTERM" "rc $rc: $(tail -c 400 "$T/limits.log")"; fi
fi

# ---- the chat page in headless Chromium (no API key: the page is open)
if [ -x /usr/bin/chromium ]; then
    if start page --model "$T/m" --parallel 2; then
        PORT=$PORT MODEL=$T/m SHOT=${SERVE_SHOT:-$T/serve.png} node "$ROOT/tests/serve/page.cjs"
        stop page
    fi
else
    fail "chat page in Chromium" "/usr/bin/chromium is missing (scripts/deps.sh test installs Debian's chromium)"
fi
