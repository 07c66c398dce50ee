// qa_windows_hf.js VOCAB_DIR DATA.jsonl T STRIDE LOWERCASE(0|1): the windows Hugging Face's
// run_qa.py makes for BERT, through the Rust tokenizers (npm `tokenizers`): tokenizer(question,
// context, truncation="only_second", max_length=T, stride=STRIDE, return_overflowing_tokens,
// return_offsets_mapping), then prepare_train_features' mapping of the first answer's
// character span to start/end token positions (0, the [CLS] index, when a window does not hold
// it). One JSON line per window, as `test_tasks qa-features` prints them. run_qa.py's loop for
// the start position can run past the context when the answer begins at the window's last
// token (its comment calls it an edge case: [SEP] and padding have offsets (0, 0)); here, as in
// gptc, the search stays inside the context.
const tk = require("tokenizers");
const fs = require("fs");
const [dir, data, T, stride, lower] = process.argv.slice(2);
(async () => {
  const vocab = fs.readFileSync(dir + "/vocab.txt", "utf8").split("\n").filter((l, i, a) => i < a.length - 1 || l);
  const v = {};
  vocab.forEach((w, i) => { v[w] = i; });
  const t = new tk.Tokenizer(tk.WordPiece.init(v, { unkToken: "[UNK]" }));
  t.setNormalizer(tk.bertNormalizer({ lowercase: lower === "1", cleanText: true, handleChineseChars: true }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.setPostProcessor(tk.bertProcessing(["[SEP]", v["[SEP]"]], ["[CLS]", v["[CLS]"]]));
  const lines = fs.readFileSync(data, "utf8").split("\n").filter((l) => l.trim());
  const out = [];
  for (let e = 0; e < lines.length; e++) {
    const x = JSON.parse(lines[e]);
    // what truncate_encodings does for "only_second" (tokenizers 0.23's truncating encode
    // stops tokenizing early and under-fills the overflow, huggingface/tokenizers#2091):
    // the context truncated to the window with the stride, then each window post-processed
    const q = await t.encode(x.question, null, { addSpecialTokens: false });
    const c = await t.encode(x.context, null, { addSpecialTokens: false });
    const W = +T - q.getLength() - 3;
    c.truncate(W, +stride, "right");
    const wins = [c, ...c.getOverflowing()].map((w) => t.postProcess(q, w, true));
    // answer span in code points -> the offsets' units (code points, checked below)
    const sc = x.answers.text.length ? x.answers.answer_start[0] : -1;
    const ec = sc + [...x.answers.text[0]].length;
    for (const w of wins) {
      const ids = w.getIds(), seq = w.getSequenceIds(), off = w.getOffsets();
      let a = 0;
      while (seq[a] !== 1) a++;
      let b = ids.length - 1;
      while (seq[b] !== 1) b--;
      let s = 0, en = 0;
      if (off[a][0] <= sc && off[b][1] >= ec) {
        s = a;
        while (s <= b && off[s][0] <= sc) s++;
        s--;
        en = b;
        while (en >= a && off[en][1] >= ec) en--;
        en++;
      }
      out.push(JSON.stringify({ ex: e, start: s, end: en, ctx_begin: a, input_ids: ids, token_type_ids: w.getTypeIds() }));
    }
  }
  console.log(out.join("\n"));
})().catch((err) => { console.error(String(err)); process.exit(1); });
