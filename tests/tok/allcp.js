// allcp.js OUT [FIRST LAST]: writes UTF-8 text holding every Unicode scalar value (no
// surrogates) from FIRST to LAST (default all, U+0000..U+10FFFF) in several contexts each:
// between letters, between an upper- and a lower-case letter, after a space, before
// digits, after an apostrophe, after punctuation, after a newline and before spaces,
// doubled. tests/t_tokenizer.sh encodes it with tiktoken and gptc and compares every id.
"use strict";
const fs = require("fs");
const [out, first = "0", last = "1114111"] = process.argv.slice(2);
const parts = [];
for (let cp = Number(first); cp <= Number(last); cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const x = String.fromCodePoint(cp);
    parts.push(`a${x}b A${x}a ${x}'${x}s .${x}${x}12\n${x}  ${x}`);
}
fs.writeFileSync(out, parts.join(" "));
