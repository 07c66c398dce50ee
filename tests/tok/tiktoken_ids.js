// tiktoken_ids.js TEXT OUTPREFIX ENC... : encodes the UTF-8 file TEXT with the npm
// package tiktoken, for each encoding ENC writing OUTPREFIX.ENC.ids (ordinary text) and
// OUTPREFIX.ENC.sp.ids (special tokens allowed), space-separated ids + newline, the
// format of `gptc tokenize`. Also OUTPREFIX.ENC.specials: the special tokens as JSON.
"use strict";
const fs = require("fs");
const { get_encoding } = require("tiktoken");
const [textPath, prefix, ...encs] = process.argv.slice(2);
const text = fs.readFileSync(textPath, "utf8");
for (const name of encs) {
    const enc = get_encoding(name);
    fs.writeFileSync(`${prefix}.${name}.ids`, Array.from(enc.encode_ordinary(text)).join(" ") + "\n");
    fs.writeFileSync(`${prefix}.${name}.sp.ids`, Array.from(enc.encode(text, "all")).join(" ") + "\n");
    const j = require(`tiktoken/encoders/${name}.json`);
    fs.writeFileSync(`${prefix}.${name}.specials`, JSON.stringify(j.special_tokens) + "\n");
    enc.free();
}
