#!/bin/sh
# encodings.sh DIR: writes tiktoken's rank files (gpt2, r50k_base, p50k_base, cl100k_base,
# o200k_base) as DIR/<name>.tiktoken ("<base64 token> <rank>" per line, the format of
# tiktoken's own .tiktoken files), converted from the npm package `tiktoken`, whose
# encoders/<name>.json hold them in a compact form. Needs node; without it, a note.
set -e
dir=${1:?usage: encodings.sh DIR}
cd "$(dirname "$0")/.."
names="gpt2 r50k_base p50k_base cl100k_base o200k_base"
done_all=1
for n in $names; do [ -s "$dir/$n.tiktoken" ] || done_all=0; done
[ $done_all = 1 ] && exit 0
if ! command -v node >/dev/null 2>&1; then
    echo "encodings: node not found; skipping tiktoken rank files (gptc --encoding needs them;" \
         "install node + npm and run \`make encodings\`)" >&2
    exit 0
fi
if ! sh scripts/deps.sh node; then
    echo "encodings: could not install the npm package tiktoken; skipping" >&2
    exit 0
fi
mkdir -p "$dir"
NODE_PATH=$PWD/.deps/node/node_modules node - "$dir" $names <<'JS'
// Compact form of encoders/<name>.json "bpe_ranks": lines "<any> <first rank> <b64> <b64> ...",
// consecutive ranks from <first rank> on.
const fs = require("fs"), path = require("path");
const [dir, ...names] = process.argv.slice(2);
for (const name of names) {
    const j = require(`tiktoken/encoders/${name}.json`);
    const out = [];
    for (const line of j.bpe_ranks.split("\n")) {
        if (!line) continue;
        const f = line.split(" ");
        let r = parseInt(f[1], 10);
        if (!Number.isInteger(r)) throw new Error(`${name}: bad bpe_ranks line`);
        for (let i = 2; i < f.length; i++) if (f[i]) out.push(`${f[i]} ${r++}`);
    }
    const tmp = path.join(dir, `${name}.tiktoken.tmp`);
    fs.writeFileSync(tmp, out.join("\n") + "\n");
    fs.renameSync(tmp, path.join(dir, `${name}.tiktoken`));
    console.error(`encodings: ${dir}/${name}.tiktoken (${out.length} ranks)`);
}
JS
