// wordpiece_train_ref.js: WordPiece vocabularies for tests/t_wordpiece_train.sh.
//   hf OUT LOWER FILE...   Hugging Face tokenizers' own trainer (npm `tokenizers`: Tokenizer.train
//                          with a WordPiece model, i.e. WordPieceTrainer's defaults: vocab_size
//                          30000, min_frequency 0, no special tokens, no alphabet limit); its ties
//                          follow hash-map order, so its vocabulary differs between runs
//   ref OUT LOWER VOCAB MINFREQ LIMIT SPECIALS FILE...   the same algorithm with gptc's
//                          deterministic order (docs/tokenizer_training.md), written plainly:
//                          words from tokenizers' BertNormalizer + BertPreTokenizer (per line,
//                          as its trainer reads files), words over 100 characters left out,
//                          pair counts recounted at every merge. SPECIALS: comma-separated or "-".
// OUT gets the vocabulary, one token a line, by id.
const tk = require("tokenizers");
const fs = require("fs");
const [mode, out, lower, ...rest] = process.argv.slice(2);
const t = new tk.Tokenizer(tk.WordPiece.empty());
t.setNormalizer(tk.bertNormalizer({ lowercase: lower === "1", cleanText: true, handleChineseChars: true }));
t.setPreTokenizer(tk.bertPreTokenizer());
if (mode === "hf") {
  t.train(rest);
  const v = t.getVocab();
  fs.writeFileSync(out, Object.entries(v).sort((a, b) => a[1] - b[1]).map((x) => x[0]).join("\n") + "\n");
  process.exit(0);
}
const [V, minFreq, limit, specials, ...files] = rest;
const counts = new Map();
for (const f of files)
  for (const line of fs.readFileSync(f, "utf8").split("\n")) {
    const norm = t.getNormalizer().normalizeString(line);
    for (const [w] of t.getPreTokenizer().preTokenizeString(norm))
      if ([...w].length <= 100) counts.set(w, (counts.get(w) || 0) + 1);
  }
const vocab = [], id = new Map();
const add = (s) => { if (!id.has(s)) { id.set(s, vocab.length); vocab.push(s); } return id.get(s); };
if (specials !== "-") specials.split(",").forEach(add);
const cc = new Map();
for (const [w, n] of counts) for (const c of w) cc.set(c, (cc.get(c) || 0) + n);
let chars = [...cc.entries()].map(([c, n]) => [c.codePointAt(0), n]);
if (+limit && chars.length > +limit) {
  chars.sort((a, b) => a[1] - b[1] || b[0] - a[0]);
  chars = chars.slice(chars.length - +limit);
}
chars.sort((a, b) => a[0] - b[0]);
const alpha = new Set(chars.map((c) => c[0]));
chars.forEach((c) => add(String.fromCodePoint(c[0])));
// "##" forms: by the number of distinct words a character continues, then code point
const cont = new Map();
for (const w of counts.keys())
  new Set([...w].slice(1).map((c) => c.codePointAt(0)).filter((c) => alpha.has(c))).forEach((c) => cont.set(c, (cont.get(c) || 0) + 1));
[...cont.entries()].sort((a, b) => b[1] - a[1] || a[0] - b[0]).forEach(([c]) => add("##" + String.fromCodePoint(c)));
const words = [...counts.entries()].map(([w, n]) => [
  [...w].map((c, i) => (alpha.has(c.codePointAt(0)) ? id.get((i ? "##" : "") + c) : -1)).filter((x) => x >= 0), n]);
while (vocab.length < +V) {
  const pc = new Map();
  for (const [s, n] of words) for (let i = 0; i + 1 < s.length; i++) {
    const k = s[i] * 4194304 + s[i + 1];
    pc.set(k, (pc.get(k) || 0) + n);
  }
  let best = -1, bc = 0;
  for (const [k, n] of pc) if (n > bc || (n === bc && k < best)) { best = k; bc = n; }
  if (bc < 1 || bc < +minFreq) break;
  const a = Math.floor(best / 4194304), b = best % 4194304;
  const c = add(vocab[a] + vocab[b].replace(/^##/, ""));
  for (const w of words) {
    const s = w[0], o = [];
    for (let i = 0; i < s.length; i++) {
      if (i + 1 < s.length && s[i] === a && s[i + 1] === b) { o.push(c); i++; } else o.push(s[i]);
    }
    w[0] = o;
  }
}
fs.writeFileSync(out, vocab.join("\n") + "\n");
