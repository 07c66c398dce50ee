// wp_ref.js: the references of tests/t_wordpiece.sh. DIR holds a WordPiece tokenizer as
// BertTokenizerFast saves it (tokenizer.json, tokenizer_config.json); it is loaded in npm's
// `tokenizers` (Hugging Face's Rust tokenizers) and, when OUT_JS is given, in npm's
// @huggingface/tokenizers (the JavaScript port).
//   wp_ref.js ids DIR TEXT OUT [OUT_JS]
//       input_ids of the UTF-8 file TEXT as one text ([CLS] ... [SEP], special tokens in the
//       text split out), one line of space-separated ids (and OUT_JS.decoded: the port's
//       decode of its ids); the Rust side also writes
//       OUT.offsets (byte ranges, one "begin end" line per id) and OUT.decoded: decode(ids)
//       followed by transformers' clean_up_tokenization (BertTokenizerFast.decode).
//   wp_ref.js pair DIR A B MAX_LEN OUT [OUT_JS]
//       the pair (files A, B) truncated to MAX_LEN (0: none) with LongestFirst: a line of
//       input_ids and a line of token_type_ids (OUT_JS: MAX_LEN 0 only; the port does not
//       truncate).
"use strict";
const fs = require("fs");
const [mode, dir, ...rest] = process.argv.slice(2);
const tj = fs.readFileSync(`${dir}/tokenizer.json`, "utf8");
const read = (p) => fs.readFileSync(p, "utf8");
// transformers' PreTrainedTokenizerBase.clean_up_tokenization
const cleanUp = (s) => s.split(" .").join(".").split(" ?").join("?").split(" !").join("!").split(" ,").join(",")
    .split(" ' ").join("'").split(" n't").join("n't").split(" 'm").join("'m").split(" 's").join("'s")
    .split(" 've").join("'ve").split(" 're").join("'re");
(async () => {
    const rust = require("tokenizers").Tokenizer.fromString(tj);
    let js = null;
    const jsOut = mode === "ids" ? rest[2] : rest[4];
    if (jsOut) {
        const { Tokenizer } = require("@huggingface/tokenizers");
        js = new Tokenizer(JSON.parse(tj), JSON.parse(read(`${dir}/tokenizer_config.json`)));
    }
    if (mode === "ids") {
        const [textPath, out] = rest;
        const text = read(textPath);
        const e = await rust.encode(text);
        fs.writeFileSync(out, e.getIds().join(" ") + "\n");
        const b = [0]; // offsets come in code points of the text: into UTF-8 bytes
        for (const ch of text) b.push(b[b.length - 1] + Buffer.byteLength(ch, "utf8"));
        fs.writeFileSync(out + ".offsets", e.getOffsets().map(([s, t]) => `${b[s]} ${b[t]}`).join("\n") + "\n");
        fs.writeFileSync(out + ".decoded", cleanUp(await rust.decode(e.getIds(), false)));
        if (js) {
            const ids = js.encode(text).ids;
            fs.writeFileSync(jsOut, ids.join(" ") + "\n");
            fs.writeFileSync(jsOut + ".decoded", js.decode(ids));
        }
    } else if (mode === "pair") {
        const [a, b, maxLen, out] = rest.map((x, i) => (i < 2 ? read(x) : x));
        if (+maxLen > 0) rust.setTruncation(+maxLen, { strategy: "LongestFirst" });
        const e = await rust.encode(a, b);
        fs.writeFileSync(out, e.getIds().join(" ") + "\n" + e.getTypeIds().join(" ") + "\n");
        if (js) { // the JavaScript port does not truncate: MAX_LEN 0 only
            if (+maxLen > 0) throw new Error("@huggingface/tokenizers does not truncate: OUT_JS needs MAX_LEN 0");
            const r = js.encode(a, { text_pair: b, return_token_type_ids: true });
            fs.writeFileSync(jsOut, r.ids.join(" ") + "\n" + r.token_type_ids.join(" ") + "\n");
        }
    } else {
        throw new Error(`unknown mode ${mode}`);
    }
})().catch((err) => { console.error(err); process.exit(1); });
