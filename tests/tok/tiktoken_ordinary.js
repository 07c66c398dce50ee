// tiktoken_ordinary.js TEXT OUT ENC: the npm package tiktoken's encode_ordinary ids of the
// UTF-8 file TEXT in encoding ENC, space-separated + newline (the format of `gptc
// tokenize`), written in pieces so that tens of millions of ids fit.
"use strict";
const fs = require("fs");
const { get_encoding } = require("tiktoken");
const [textPath, out, name] = process.argv.slice(2);
const enc = get_encoding(name);
const ids = enc.encode_ordinary(fs.readFileSync(textPath, "utf8"));
const fd = fs.openSync(out, "w");
for (let i = 0; i < ids.length; i += 1 << 20)
    fs.writeSync(fd, (i ? " " : "") + Array.from(ids.subarray(i, i + (1 << 20))).join(" "));
fs.writeSync(fd, "\n");
fs.closeSync(fd);
enc.free();
