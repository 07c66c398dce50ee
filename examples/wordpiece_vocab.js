// wordpiece_vocab.js: an uncased BERT vocab.txt of N entries learned by Hugging Face's
// WordPiece trainer (npm `tokenizers`, the Rust library: BertNormalizer lowercase +
// accents stripped, BertPreTokenizer, WordPieceTrainer with its defaults, "##" for pieces
// inside a word). The JavaScript binding takes no trainer options, so it learns with the
// default limit (30000) and the vocabulary is cut to its first N - 5 ids: the trainer
// numbers the alphabet first, then each merge in the order it learned them, so the cut is
// the vocabulary a trainer stopped at that size would give (every kept piece's parts are
// kept). [PAD] [UNK] [CLS] [SEP] [MASK] come first, as in Google's vocabularies.
// usage: node wordpiece_vocab.js N OUTDIR FILE...   (writes OUTDIR/vocab.txt, tokenizer_config.json)
const fs = require("fs");
const path = require("path");
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer } = require("tokenizers");
const [n, out, ...files] = process.argv.slice(2);
const N = parseInt(n, 10);
if (!(N > 5) || !out || !files.length) {
    console.error("usage: node wordpiece_vocab.js N OUTDIR FILE...");
    process.exit(2);
}
const specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const tk = new Tokenizer(WordPiece.empty());
tk.setNormalizer(bertNormalizer({ lowercase: true, stripAccents: true }));
tk.setPreTokenizer(bertPreTokenizer());
tk.train(files); // the native trainer writes blank progress lines on stdout
const v = tk.getVocab(false);
const learned = Object.keys(v).filter((t) => !specials.includes(t)).sort((a, b) => v[a] - v[b]);
if (learned.length < N - specials.length) {
    console.error("wordpiece_vocab.js: the text gives only " + learned.length + " pieces, fewer than " + (N - 5));
    process.exit(1);
}
const vocab = specials.concat(learned.slice(0, N - specials.length));
fs.mkdirSync(out, { recursive: true });
fs.writeFileSync(path.join(out, "vocab.txt"), vocab.join("\n") + "\n");
fs.writeFileSync(path.join(out, "tokenizer_config.json"), '{"do_lower_case": true, "tokenizer_class": "BertTokenizer"}\n');
