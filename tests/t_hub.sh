#!/usr/bin/env bash
# t_hub.sh: `gptc pull` and models by name (--model ORG/NAME) against a Hub stand-in on
# loopback (tests/hub/standin.py: /api/models/REPO/revision/REV, /REPO/resolve/REV/FILE
# with ETags, X-Repo-Commit, X-Linked-Etag/Size, relative and absolute (CDN) redirects,
# Range requests, a gated repository, injected faults) serving a tiny model made by
# `gptc init`. The cache is checked against huggingface_hub's layout with Python's hashlib
# (tests/hub/check_cache.py); a cache written by hand in that layout
# (tests/hub/write_hf_cache.py) must be used unchanged. Run with the release and the
# ASan+UBSan binaries.
source "$(dirname "$0")/lib.sh"
H=$ROOT/tests/hub
export GPTC_DATA_DIR=${GPTC_DATA_DIR:-$ROOT/build/share/gptc}
unset HF_TOKEN HF_HUB_OFFLINE TRANSFORMERS_OFFLINE HF_HOME HF_TOKEN_PATH HUGGINGFACE_HUB_CACHE
export HF_TOKEN_PATH=$T/no-token-file
cleanup() { [ -n "$SPID" ] && kill "$SPID" 2>/dev/null; rm -rf "$T"; }
trap cleanup EXIT

# the repositories: a tiny model (its files as `gptc init` writes them, plus files gptc
# never needs: other frameworks' weights, a README, a file in a folder), a gated copy
"$GPTC" init --out "$T/src" --preset tiny --n-embd 32 --seed 5 >/dev/null || { fail init "gptc init failed"; exit 1; }
R=$T/root
mkdir -p "$R/test-org/tiny/sub" "$R/gated-org/secret"
cp "$T/src"/* "$R/test-org/tiny/"
cp "$T/src"/* "$R/gated-org/secret/"
head -c 3000 /dev/urandom >"$R/test-org/tiny/pytorch_model.bin"
echo "# tiny" >"$R/test-org/tiny/README.md"
echo '{"nested": true}' >"$R/test-org/tiny/sub/extra.json"
C1=0123456789abcdef0123456789abcdef01234567
C2=fedcba9876543210fedcba9876543210fedcba98
TOKEN=hf_test_token_1234
cat >"$T/cfg.json" <<JSON
{"commit": {"test-org/tiny": "$C1", "gated-org/secret": "$C2"}, "alias": {"tiny": "test-org/tiny"},
 "gated": {"gated-org/secret": "$TOKEN"}}
JSON
echo '{}' >"$T/ctl.json"
: >"$T/log"
$PY "$H/standin.py" "$R" "$T/cfg.json" "$T/ctl.json" "$T/log" "$T/port" 2>"$T/standin.err" &
SPID=$!
for _ in $(seq 100); do [ -f "$T/port" ] && break; sleep 0.1; done
[ -f "$T/port" ] || { fail standin "the Hub stand-in did not start: $(cat "$T/standin.err")"; exit 1; }
export HF_ENDPOINT=http://127.0.0.1:$(cat "$T/port")
DEAD=http://127.0.0.1:9   # nothing listens there: "no network"
WANT="config.json generation_config.json merges.txt model.safetensors special_tokens_map.json sub/extra.json
      tokenizer.json tokenizer_config.json vocab.json"
printf 'It was the best of times, it was the worst of times.\n' >"$T/text.txt"
echo "464 373 262 1266 286 1661 11 340 373 262 5290 286 1661 13" >"$T/ids.txt"
SHA=$(sha256sum "$T/src/model.safetensors" | cut -d' ' -f1)
SIZE=$(stat -c %s "$T/src/model.safetensors")
# the reference text: greedy tokens of the source directory itself
"$GPTC" generate --model "$T/src" --prompt "Hello there" --max-new-tokens 8 --json >"$T/ref.json" 2>/dev/null ||
    fail reference "gptc generate on the source directory failed"
same_gen() { # TAG BIN MODEL: greedy output by name equals the source directory's
    local tag=$1 bin=$2 model=$3
    if "$bin" generate --model "$model" --prompt "Hello there" --max-new-tokens 8 --json >"$T/g.json" 2>"$T/g.err" &&
        $PY -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:]); sys.exit(a["sequences"] != b["sequences"])' \
            "$T/g.json" "$T/ref.json"; then pass "$tag" # the sequences: "timing" differs run to run
    else fail "$tag" "$(head -c 300 "$T/g.err")"; fi
}
log_mark() { wc -l <"$T/log" 2>/dev/null || echo 0; }
log_since() { tail -n +$(( $1 + 1 )) "$T/log"; }

for BIN in "$GPTC" "$GPTC_ASAN"; do
    b=$(basename "$(dirname "$BIN")"); [ "$b" = asan ] || b=release
    [ -x "$BIN" ] || { fail "$b binary" "$BIN missing"; continue; }
    CA=$T/cache-$b
    # ---- a fresh pull: files, refs, relative symlinks, checksums; nothing else fetched
    m=$(log_mark)
    if HF_HUB_CACHE=$CA "$BIN" pull test-org/tiny --json >"$T/pull.json" 2>"$T/pull.err"; then
        $PY "$H/check_cache.py" "fresh pull: huggingface_hub's layout, sha256 / git blob ids ($b)" "$CA" test-org/tiny "$C1" "$T/root/test-org/tiny" $WANT
        $PY - "$T/pull.json" "$CA/models--test-org--tiny/snapshots/$C1" "$b" <<'PYEOF'
import json, sys
j = json.load(open(sys.argv[1]))
ok = j["commit"] == "0123456789abcdef0123456789abcdef01234567" and j["path"] == sys.argv[2] and \
    j["downloaded_files"] == 9 and len(j["files"]) == 9 and not any(f["cached"] for f in j["files"])
print(("PASS" if ok else "FAIL") + " pull --json: commit, path, 9 files fetched (%s)%s" % (sys.argv[3], "" if ok else ": " + json.dumps(j)[:300]))
PYEOF
    else fail "fresh pull ($b)" "$(head -c 400 "$T/pull.err")"; fi
    if log_since "$m" | grep -q -E 'pytorch_model.bin|README.md'; then fail "default globs ($b)" "asked for a file gptc does not read"
    else pass "default globs: no pytorch_model.bin, no README ($b)"; fi
    if log_since "$m" | grep -q "^GET /cdn/$SHA - " && log_since "$m" | grep -q "^HEAD /test-org/tiny/resolve/$C1/model.safetensors"; then
        pass "LFS file through HEAD + the CDN redirect ($b)"; else fail "LFS file through HEAD + the CDN redirect ($b)" "$(log_since "$m" | head -5)"; fi
    # ---- again: only the listing is asked for; everything is in the cache
    m=$(log_mark)
    HF_HUB_CACHE=$CA "$BIN" pull test-org/tiny --json >"$T/pull2.json" 2>"$T/pull2.err" &&
        [ "$(log_since "$m" | wc -l)" = 1 ] && grep -q '"downloaded_files": 0' "$T/pull2.json" &&
        pass "second pull fetches nothing ($b)" || fail "second pull fetches nothing ($b)" "$(log_since "$m" | head -3)"
    # ---- by name in every command that loads a model, from the cache, no network
    HF_HUB_CACHE=$CA HF_ENDPOINT=$DEAD same_gen "generate --model ORG/NAME from the cache, no network ($b)" "$BIN" test-org/tiny
    HF_HUB_CACHE=$CA HF_ENDPOINT=$DEAD "$BIN" info --model test-org/tiny --json >"$T/info.json" 2>"$T/info.err" &&
        pass "info --model ORG/NAME ($b)" || fail "info --model ORG/NAME ($b)" "$(head -c 300 "$T/info.err")"
    echo "Hello there" | HF_HUB_CACHE=$CA HF_ENDPOINT=$DEAD "$BIN" tokenize --model test-org/tiny >"$T/tok.txt" 2>"$T/tok.err" &&
        echo "Hello there" | "$BIN" tokenize --model "$T/src" | cmp -s - "$T/tok.txt" &&
        pass "tokenize --model ORG/NAME ($b)" || fail "tokenize --model ORG/NAME ($b)" "$(head -c 300 "$T/tok.err")"
    if [ $b = release ]; then # the other commands' model options, from the cache
        for c in "attention --text Hello --json" "eval --tokens $T/ids.txt"; do
            HF_HUB_CACHE=$CA HF_ENDPOINT=$DEAD "$BIN" $c --model test-org/tiny >"$T/c1" 2>"$T/c.err" &&
                "$BIN" $c --model "$T/src" >"$T/c2" 2>/dev/null && cmp -s "$T/c1" "$T/c2" &&
                pass "${c%% *} --model ORG/NAME = the directory" || fail "${c%% *} --model ORG/NAME = the directory" "$(head -c 300 "$T/c.err")"
        done
        HF_HUB_CACHE=$CA HF_ENDPOINT=$DEAD "$BIN" prepare --input "$T/text.txt" --out "$T/prep1" --tokenizer test-org/tiny >/dev/null 2>"$T/c.err" &&
            "$BIN" prepare --input "$T/text.txt" --out "$T/prep2" --tokenizer "$T/src" >/dev/null 2>&1 &&
            cmp -s "$T/prep1/train.bin" "$T/prep2/train.bin" &&
            pass "prepare --tokenizer ORG/NAME = the directory" || fail "prepare --tokenizer ORG/NAME = the directory" "$(head -c 300 "$T/c.err")"
        # a tokenizer-only option pulls no weights
        CT=$T/cachet
        m=$(log_mark)
        echo Hello | HF_HUB_CACHE=$CT "$BIN" tokenize --model test-org/tiny >/dev/null 2>"$T/c.err" &&
            ! log_since "$m" | grep -q -E 'safetensors|/cdn/' && [ -e "$CT/models--test-org--tiny/snapshots/$C1/vocab.json" ] &&
            pass "tokenize --model ORG/NAME pulls the tokenizer, no weights" ||
            fail "tokenize --model ORG/NAME pulls the tokenizer, no weights" "$(head -c 300 "$T/c.err") $(log_since "$m" | grep safetensors)"
    fi
    # ---- a snapshot with the tokenizer but no weights (what AutoTokenizer leaves): the
    # command pulls only what is missing
    CM=$T/cachem-$b
    cp -a "$CA" "$CM"
    rm "$CM/models--test-org--tiny/snapshots/$C1/model.safetensors" "$CM/models--test-org--tiny/blobs/$SHA"
    m=$(log_mark)
    HF_HUB_CACHE=$CM same_gen "a snapshot without weights: generate by name completes it ($b)" "$BIN" test-org/tiny
    n_get=$(log_since "$m" | grep -c -v -E "^GET /api/|^HEAD /test-org/tiny/resolve/$C1/model.safetensors |^GET /cdn/$SHA ")
    [ "$n_get" = 0 ] && [ "$(log_since "$m" | wc -l)" = 3 ] && pass "... asking only for the missing file ($b)" ||
        fail "... asking only for the missing file ($b)" "$(log_since "$m" | head -5)"
    # ---- a name not in the cache is pulled by the command itself; an alias (307 relative
    # redirect to the renamed repository) is cached under the name given, as huggingface_hub does
    CB=$T/cacheb-$b
    HF_HUB_CACHE=$CB same_gen "generate --model NAME pulls it first (relative redirect) ($b)" "$BIN" tiny
    [ "$(cat "$CB/models--tiny/refs/main" 2>/dev/null)" = "$C1" ] && pass "alias cached as models--tiny ($b)" ||
        fail "alias cached as models--tiny ($b)" "$(ls "$CB")"
    # ---- offline: served from the cache without a request; a missing one is an error
    m=$(log_mark)
    HF_HUB_CACHE=$CA HF_HUB_OFFLINE=1 "$BIN" pull test-org/tiny --json >"$T/off.json" 2>/dev/null &&
        $PY -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(not (j['offline'] and len(j['files']) == 9 and all(f['cached'] for f in j['files'])))" "$T/off.json" &&
        pass "HF_HUB_OFFLINE=1: pull --json lists the cached files ($b)" || fail "HF_HUB_OFFLINE=1: pull --json lists the cached files ($b)" "$(head -c 300 "$T/off.json")"
    HF_HUB_CACHE=$CA HF_HUB_OFFLINE=1 "$BIN" pull test-org/tiny >"$T/off.out" 2>"$T/off.err" &&
        [ "$(cat "$T/off.out")" = "$CA/models--test-org--tiny/snapshots/$C1" ] &&
        HF_HUB_CACHE=$CA HF_HUB_OFFLINE=1 same_gen "HF_HUB_OFFLINE=1: generate by name from the cache ($b)" "$BIN" test-org/tiny &&
        [ "$(log_since "$m" | wc -l)" = 0 ] && pass "HF_HUB_OFFLINE=1: pull served from the cache, no request ($b)" ||
        fail "HF_HUB_OFFLINE=1: pull served from the cache, no request ($b)" "$(head -c 300 "$T/off.err") $(log_since "$m" | head -3)"
    HF_HUB_CACHE=$T/empty HF_HUB_OFFLINE=1 expect_error "HF_HUB_OFFLINE=1 and not cached: a clear error ($b)" \
        "not in the Hugging Face cache .*offline" "$BIN" generate --model test-org/tiny --prompt x
    # ---- an interrupted transfer is resumed with Range (the stand-in drops the first
    # CDN transfer after 100000 bytes), in the same run
    CR=$T/cacher-$b
    echo '{"drop": {"model.safetensors": 100000}, "id": "'$b'"}' >"$T/ctl.json"
    m=$(log_mark)
    HF_HUB_CACHE=$CR "$BIN" pull test-org/tiny --include '*.safetensors' >/dev/null 2>"$T/res.err" &&
        log_since "$m" | grep -q "^GET /cdn/$SHA bytes=100000- " &&
        [ "$(log_since "$m" | grep -c "^GET /cdn/$SHA - ")" = 1 ] && grep -q resuming "$T/res.err" &&
        cmp -s "$CR/models--test-org--tiny/snapshots/$C1/model.safetensors" "$T/src/model.safetensors" &&
        pass "dropped connection: resumed at byte 100000 with Range, not restarted ($b)" ||
        fail "dropped connection: resumed at byte 100000 with Range, not restarted ($b)" "$(head -c 300 "$T/res.err") $(log_since "$m" | grep cdn)"
    echo '{}' >"$T/ctl.json"
    # ... and across runs: a blobs/ETAG.incomplete left by an earlier run is continued
    CX=$T/cachex-$b
    mkdir -p "$CX/models--test-org--tiny/blobs"
    head -c 777777 "$T/src/model.safetensors" >"$CX/models--test-org--tiny/blobs/$SHA.incomplete"
    m=$(log_mark)
    HF_HUB_CACHE=$CX "$BIN" pull test-org/tiny >/dev/null 2>"$T/resx.err" &&
        log_since "$m" | grep -q "^GET /cdn/$SHA bytes=777777- " && ! log_since "$m" | grep -q "^GET /cdn/$SHA - " &&
        $PY "$H/check_cache.py" "a .incomplete of an earlier run resumed with Range ($b)" "$CX" test-org/tiny "$C1" "$T/root/test-org/tiny" $WANT ||
        fail "a .incomplete of an earlier run resumed with Range ($b)" "$(head -c 300 "$T/resx.err") $(log_since "$m" | grep cdn)"
    # ... and a pull killed (SIGKILL) in the middle of a transfer leaves only the
    # .incomplete, which the next pull continues
    CK=$T/cachek-$b
    echo '{"stall": {"model.safetensors": 123456}}' >"$T/ctl.json"
    HF_HUB_CACHE=$CK HF_HUB_DOWNLOAD_TIMEOUT=100 "$BIN" pull test-org/tiny >/dev/null 2>&1 &
    PP=$!
    part=$CK/models--test-org--tiny/blobs/$SHA.incomplete
    for _ in $(seq 300); do [ "$(stat -c %s "$part" 2>/dev/null)" = 123456 ] && break; sleep 0.1; done
    kill -9 $PP 2>/dev/null; wait $PP 2>/dev/null
    echo '{}' >"$T/ctl.json"
    left=$(cd "$CK/models--test-org--tiny" 2>/dev/null && ls blobs/$SHA snapshots/$C1/model.safetensors refs/main 2>/dev/null)
    [ "$(stat -c %s "$part" 2>/dev/null)" = 123456 ] && [ -z "$left" ] &&
        pass "killed mid-transfer: only blobs/ETAG.incomplete (123456 bytes) left ($b)" ||
        fail "killed mid-transfer: only blobs/ETAG.incomplete (123456 bytes) left ($b)" "$(stat -c %s "$part" 2>&1) $left"
    m=$(log_mark)
    HF_HUB_CACHE=$CK "$BIN" pull test-org/tiny >/dev/null 2>"$T/resk.err" &&
        log_since "$m" | grep -q "^GET /cdn/$SHA bytes=123456- " &&
        $PY "$H/check_cache.py" "after the kill the next pull resumes at byte 123456 ($b)" "$CK" test-org/tiny "$C1" "$T/root/test-org/tiny" $WANT ||
        fail "after the kill the next pull resumes at byte 123456 ($b)" "$(head -c 300 "$T/resk.err") $(log_since "$m" | grep cdn)"
    # ---- two pulls at once into one cache: the blob's lock lets one transfer it
    CP=$T/cachep-$b
    m=$(log_mark)
    HF_HUB_CACHE=$CP "$BIN" pull test-org/tiny >/dev/null 2>"$T/p1.err" & P1=$!
    HF_HUB_CACHE=$CP "$BIN" pull test-org/tiny >/dev/null 2>"$T/p2.err" & P2=$!
    wait $P1; r1=$?; wait $P2; r2=$?
    [ $r1 = 0 ] && [ $r2 = 0 ] && [ "$(log_since "$m" | grep -c "^GET /cdn/$SHA ")" = 1 ] &&
        $PY "$H/check_cache.py" "two concurrent pulls: both succeed, one transfer of the blob ($b)" "$CP" test-org/tiny "$C1" "$T/root/test-org/tiny" $WANT ||
        fail "two concurrent pulls: both succeed, one transfer of the blob ($b)" "rc $r1 $r2; $(head -c 200 "$T/p1.err") $(log_since "$m" | grep -c cdn)"
    # ---- corrupted bytes (one byte changed, same length) are rejected and not kept
    CC=$T/cachec-$b
    echo '{"corrupt": ["model.safetensors"]}' >"$T/ctl.json"
    HF_HUB_CACHE=$CC expect_error "corrupted blob: sha256 mismatch rejected ($b)" \
        "model.safetensors: the downloaded bytes do not match the Hub's checksum \(sha256 $SHA expected" "$BIN" pull test-org/tiny
    left=$(cd "$CC/models--test-org--tiny" 2>/dev/null && ls blobs/$SHA* snapshots/$C1/model.safetensors refs/main 2>/dev/null)
    [ -z "$left" ] && pass "corrupted blob: no blob, no .incomplete, no link, no ref left ($b)" ||
        fail "corrupted blob: no blob, no .incomplete, no link, no ref left ($b)" "$left"
    echo '{}' >"$T/ctl.json"
    HF_HUB_CACHE=$CC "$BIN" pull test-org/tiny >/dev/null 2>&1 &&
        $PY "$H/check_cache.py" "after a rejected blob the next pull completes ($b)" "$CC" test-org/tiny "$C1" "$T/root/test-org/tiny" $WANT
    # ---- a gated repository: 401 without a token, 403 with a wrong one, fine with one
    CG=$T/cacheg-$b
    HF_HUB_CACHE=$CG expect_error "gated repo without a token: 401 and the hint ($b)" \
        "gated-org/secret: revision main: HTTP 401 GatedRepo.*needs a token \(--token or HF_TOKEN\)" "$BIN" pull gated-org/secret
    HF_HUB_CACHE=$CG HF_TOKEN=wrong expect_error "gated repo with a wrong token: 403 ($b)" \
        "HTTP 403 GatedRepo.*restricted" "$BIN" pull gated-org/secret
    m=$(log_mark)
    HF_HUB_CACHE=$CG HF_TOKEN=$TOKEN "$BIN" pull gated-org/secret >/dev/null 2>"$T/g1.err" &&
        $PY "$H/check_cache.py" "gated repo with HF_TOKEN ($b)" "$CG" gated-org/secret "$C2" "$T/src" $(cd "$T/src" && ls) &&
        log_since "$m" | grep "resolve" | grep -q "Bearer_$TOKEN" ||
        fail "gated repo with HF_TOKEN ($b)" "$(head -c 300 "$T/g1.err")"
    log_since "$m" | grep -q "^GET /cdn/.* -$" && ! log_since "$m" | grep "^GET /cdn/" | grep -q Bearer &&
        pass "the token is not sent on to the CDN's host ($b)" ||
        fail "the token is not sent on to the CDN's host ($b)" "$(log_since "$m" | grep cdn)"
    rm -rf "$CG"
    HF_HUB_CACHE=$CG "$BIN" pull gated-org/secret --token "$TOKEN" --include config.json >/dev/null 2>"$T/g2.err" &&
        [ "$(ls "$CG/models--gated-org--secret/snapshots/$C2")" = config.json ] &&
        pass "gated repo with --token, --include one file ($b)" || fail "gated repo with --token, --include one file ($b)" "$(head -c 300 "$T/g2.err")"
    # ---- clear errors
    HF_HUB_CACHE=$T/e expect_error "unknown repository: 404 named ($b)" \
        "no-such/repo: revision main: HTTP 404 RepoNotFound from http" "$BIN" pull no-such/repo
    HF_HUB_CACHE=$T/e expect_error "--model naming neither a directory nor a repository ($b)" \
        "no-such/repo: not a directory here, nor a repository the Hub gives: .*HTTP 404" "$BIN" generate --model no-such/repo --prompt x
    HF_HUB_CACHE=$T/e HF_ENDPOINT=$DEAD expect_error "no network: cannot reach the endpoint ($b)" \
        "cannot reach http://127.0.0.1:9.*HF_HUB_OFFLINE=1" "$BIN" pull test-org/tiny
    HF_HUB_CACHE=$T/e expect_error "unknown revision: 404 RevisionNotFound ($b)" "HTTP 404 RevisionNotFound.*no such revision" \
        "$BIN" pull test-org/tiny@v9
    HF_HUB_CACHE=$T/e expect_error "--include matching nothing ($b)" "no file of its 11 matches" "$BIN" pull test-org/tiny --include '*.gguf'
    expect_error "a malformed repository name ($b)" "'a/b/c' is not a repository name" "$BIN" pull a/b/c
    HF_HUB_CACHE=$T/e expect_error "a path that is not a repository name keeps the loader's error ($b)" \
        "nodir/x/config.json" "$BIN" info --model ./nodir/x
    [ ! -e "$T/e" ] || [ -z "$(find "$T/e" -type f)" ] && pass "failed pulls wrote no file ($b)" || fail "failed pulls wrote no file ($b)" "$(find "$T/e" -type f | head)"
done

# ---- a cache written by hand in transformers' layout is found, used and left unchanged
# (the endpoint is dead: nothing may be asked of the network)
CH=$T/cache-hand
$PY "$H/write_hf_cache.py" "$CH" hand-org/model 1111111111222222222233333333334444444444 "$T/src"
(cd "$CH" && find . -printf '%p %y %l %s\n' | sort && find . -type f -exec sha256sum {} + | sort) >"$T/hand.before"
HF_HUB_CACHE=$CH HF_ENDPOINT=$DEAD same_gen "a cache in transformers' layout: generate --model ORG/NAME" "$GPTC" hand-org/model
HF_HUB_CACHE=$CH HF_ENDPOINT=$DEAD same_gen "a cache in transformers' layout: @COMMIT" "$GPTC" hand-org/model@1111111111222222222233333333334444444444
HF_HOME=$T/hfhome mkdir -p "$T/hfhome" && ln -s "$CH" "$T/hfhome/hub"
HF_HOME=$T/hfhome HF_ENDPOINT=$DEAD same_gen "the cache found through HF_HOME/hub" "$GPTC_ASAN" hand-org/model
(cd "$CH" && find . -printf '%p %y %l %s\n' | sort && find . -type f -exec sha256sum {} + | sort) >"$T/hand.after"
cmp -s "$T/hand.before" "$T/hand.after" && pass "a cache in transformers' layout is left unchanged" ||
    fail "a cache in transformers' layout is left unchanged" "$(diff "$T/hand.before" "$T/hand.after" | head -5)"
