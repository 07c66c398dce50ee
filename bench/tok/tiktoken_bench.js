// tiktoken_bench.js TEXT REPEATS ENC...: encode_ordinary throughput of the npm package
// tiktoken (WASM) on the UTF-8 file TEXT, best of REPEATS after one warm-up; prints
// "ENC MB/s ntokens" per encoding. Used by bench/bench_tokenizer.sh.
"use strict";
const fs = require("fs");
const { get_encoding } = require("tiktoken");
const [textPath, repeats, ...encs] = process.argv.slice(2);
const text = fs.readFileSync(textPath, "utf8");
const mb = fs.statSync(textPath).size / 1e6;
for (const name of encs) {
    const enc = get_encoding(name);
    let n = enc.encode_ordinary(text).length, best = Infinity;
    for (let r = 0; r < Number(repeats); r++) {
        const t0 = process.hrtime.bigint();
        n = enc.encode_ordinary(text).length;
        const s = Number(process.hrtime.bigint() - t0) / 1e9;
        if (s < best) best = s;
    }
    console.log(`${name} ${(mb / best).toFixed(2)} ${n}`);
    enc.free();
}
