// gen.js SEED BYTES OUT [ASSIGNED]: writes about BYTES bytes of mixed UTF-8 text to OUT, the same
// text for the same SEED: English prose, contractions, Korean, Chinese, emoji with skin
// tones and ZWJ sequences, source code, runs of spaces/tabs/newlines, digits, special-token
// look-alikes and random code points (BMP and astral). Used by tests/t_tokenizer.sh and
// bench/bench_tokenizer.sh.
"use strict";
const fs = require("fs");
const [seedArg, bytesArg, out] = process.argv.slice(2);
let s = BigInt.asUintN(64, BigInt(seedArg || 1) * 0x9E3779B97F4A7C15n + 1n);
function rnd() { // splitmix64 -> [0, 1)
    s = BigInt.asUintN(64, s + 0x9E3779B97F4A7C15n);
    let z = s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94D049BB133111EBn);
    z = z ^ (z >> 31n);
    return Number(z >> 11n) / 2 ** 53;
}
const ri = (n) => Math.floor(rnd() * n);
const pick = (a) => a[ri(a.length)];

const words = ("the of and to in is that it was for on are as with his they at be this from have or by " +
    "one had not but what all were when we there can an your which their said if do will each about how up " +
    "out them then she many some so these would other into has more her two like him see time could no make " +
    "than first been its who now people my made over did down only way find use may water long little very " +
    "after words called just where most know get through back much before go good new write our used me man " +
    "too any day same right look think also around another came come work three word must because does part " +
    "tokenizer Transformer GPT attention gradient embedding Seoul Busan naïve café résumé façade Zürich " +
    "ﬁnancial Ångström İstanbul ΣΙΣΥΦΟΣ Москва straße ΑΒΓ").split(" ");
const contractions = ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "'T", "'RE", "'VE", "'M", "'LL", "'D",
    "’s", "'x", "''", "'"];
const korean = ["안녕하세요", "감사합니다", "토크나이저", "한국어", "문장을", "학습합니다", "사용자", "데이터",
    "서울특별시", "읽었다", "했습니다.", "그리고", "하지만", "모델이", "만들어요"];
const chinese = ["你好", "世界", "中文", "分词器", "模型", "训练", "数据", "我们", "今天天气很好", "人工智能",
    "北京", "漢字", "語言"];
const emoji = ["😀", "👍", "👍🏽", "👍🏿", "👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "❤️", "🇰🇷", "🇯🇵", "🧑🏻‍🚀", "🤖",
    "✨", "🔥", "👋🏼", "🫠", "©", "™", "…"];
const code = [
    "int main(int argc, char **argv) {\n    return 0;\n}\n",
    "for (size_t i = 0; i < n; i++) sum += a[i] * b[i];\n",
    "def f(x):\n\treturn x ** 2 + 3*x - 1  # comment\n",
    "const x = {a: 1, 'b': [2, 3], \"c\": null};\n",
    "if (p != NULL && *p == '\\0') { p++; }\r\n",
    "    # indented\n        deeper();\n",
    "<div class=\"x\">&amp;&lt;/div&gt;</div>\n",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;\n",
    "https://example.com/path/to/file?x=1&y=2#frag\n",
    "a//b /// c\n//comment\n/*block*/\n",
];
const specials = ["<|endoftext|>", "<|fim_prefix|>", "<|endofprompt|>", "<|im_start|>", "<|"];
const ws = [" ", "  ", "\t", "\n", "\r\n", "\n\n", " \n", "\u00a0", "\u3000", "\u2028", "\u180e", "\u0085",
    "\u200b", "\u000b", "\u000c"];

// Random code points from planes 0-2, only those assigned in the Unicode version of
// ASSIGNED (tests/tok/assigned.py; without it, no filter): characters added later are
// letters to tiktoken's Rust regex but unassigned to an older PCRE2.
const assigned = process.argv[5] ? JSON.parse(fs.readFileSync(process.argv[5], "utf8")).ranges : null;
function isAssigned(cp) {
    if (!assigned) return !(cp >= 0xd800 && cp < 0xe000);
    let lo = 0, hi = assigned.length - 1;
    while (lo <= hi) {
        const m = (lo + hi) >> 1;
        if (cp < assigned[m][0]) hi = m - 1;
        else if (cp > assigned[m][1]) lo = m + 1;
        else return true;
    }
    return false;
}
function randCp() {
    for (;;) {
        const r = rnd();
        const cp = r < 0.5 ? ri(0xd800) : r < 0.6 ? 0xe000 + ri(0x2000) : r < 0.85 ? 0x10000 + ri(0x10000) : 0x20000 + ri(0x10000);
        if (isAssigned(cp)) return String.fromCodePoint(cp);
    }
}

function chunk() {
    const r = ri(100);
    if (r < 30) { // prose
        let t = "";
        const n = 3 + ri(25);
        for (let i = 0; i < n; i++) {
            let w = pick(words);
            if (ri(8) === 0) w = w[0].toUpperCase() + w.slice(1);
            if (ri(20) === 0) w = w.toUpperCase();
            t += (i ? " " : "") + w;
            if (ri(12) === 0) t += pick(contractions);
            if (ri(15) === 0) t += pick([",", ".", ";", ":", "!", "?", "...", "—", " -", "\""]);
        }
        return t + pick([". ", ".\n", "\n\n", "? ", "! ", " "]);
    }
    if (r < 42) { let t = ""; for (let i = ri(12) + 1; i--;) t += pick(korean) + pick([" ", ", ", ". ", "\n", ""]); return t; }
    if (r < 52) { let t = ""; for (let i = ri(12) + 1; i--;) t += pick(chinese) + pick(["", "，", "。", " ", "\n"]); return t; }
    if (r < 60) { let t = ""; for (let i = ri(8) + 1; i--;) t += pick(emoji) + pick(["", " ", "", "\n", "a"]); return t; }
    if (r < 70) return pick(code);
    if (r < 77) { // whitespace runs
        const n = ri(10) === 0 ? ri(300) : ri(8);
        let t = "";
        const one = ri(2) === 0;
        const c = pick(ws);
        for (let i = 0; i <= n; i++) t += one ? c : pick(ws);
        return t + (ri(2) ? pick(words) : "");
    }
    if (r < 83) { // digits
        let t = pick(["", " ", "$", "v", "x=", "-", "3.", "#"]);
        const n = ri(6) === 0 ? ri(60) + 1 : ri(7) + 1;
        for (let i = 0; i < n; i++) t += String(ri(10));
        if (ri(3) === 0) t += pick(["٣٤", "½", "①", "Ⅻ", "१२", "٫"]);
        return t + pick([" ", ",", "\n", "%", "abc"]);
    }
    if (r < 86) return pick(specials) + pick(["", " ", "\n"]);
    if (r < 95) { let t = ""; for (let i = ri(20) + 1; i--;) t += randCp(); return t + pick(["", " ", "\n"]); }
    // mixed scripts glued together
    return pick(words) + pick(korean) + pick(emoji) + pick(chinese) + pick(contractions) + String(ri(1000));
}

const want = Number(bytesArg || 1 << 20);
const parts = [];
let size = 0;
while (size < want) {
    const c = chunk();
    parts.push(c);
    size += Buffer.byteLength(c);
}
fs.writeFileSync(out, parts.join(""));
