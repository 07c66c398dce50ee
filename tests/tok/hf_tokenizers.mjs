// hf_tokenizers.mjs DIR TEXT OUT [CHAT.jsonl CHATOUT]: loads DIR/tokenizer.json and
// DIR/tokenizer_config.json in npm's @huggingface/tokenizers and writes the ids of the
// UTF-8 file TEXT (special tokens are split out, as Hugging Face always does) to OUT.
// With CHAT.jsonl: renders each {"messages": [...]} with tokenizer_config.json's
// chat_template by npm's @huggingface/jinja, with and without add_generation_prompt,
// and writes the ids of each rendering (one line each, in that order) to CHATOUT, as
// transformers' apply_chat_template(messages, tokenize=True) gives them.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

// ES modules ignore NODE_PATH: resolve the packages in it (.deps/node/node_modules).
const require = createRequire(`${process.env.NODE_PATH || "."}/`);
const { Tokenizer } = require("@huggingface/tokenizers");
const { Template } = require("@huggingface/jinja");

const [dir, textPath, out, chatPath, chatOut] = process.argv.slice(2);
const tj = JSON.parse(readFileSync(`${dir}/tokenizer.json`, "utf8"));
const tc = JSON.parse(readFileSync(`${dir}/tokenizer_config.json`, "utf8"));
const tok = new Tokenizer(tj, tc);
const enc = (s) => tok.encode(s, { add_special_tokens: false }).ids.join(" ");
writeFileSync(out, enc(readFileSync(textPath, "utf8")) + "\n");
if (chatPath) {
    if (!tc.chat_template) throw new Error(`${dir}/tokenizer_config.json has no chat_template`);
    const t = new Template(tc.chat_template);
    const lines = [];
    for (const l of readFileSync(chatPath, "utf8").split("\n")) {
        if (!l.trim()) continue;
        const { messages } = JSON.parse(l);
        for (const gen of [false, true]) {
            const s = t.render({ messages, add_generation_prompt: gen, bos_token: tc.bos_token, eos_token: tc.eos_token });
            lines.push(enc(s));
        }
    }
    writeFileSync(chatOut, lines.join("\n") + "\n");
}
