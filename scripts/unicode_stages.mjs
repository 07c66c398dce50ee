// unicode_stages.mjs: what scripts/gen_unicode.mjs and scripts/gen_wp_unicode.mjs share:
// a per-code-point flag array as a two-stage table (cp >> 8 picks one of the distinct
// 256-entry blocks) and C initializer rows.
export function stages(flags) {
    const blocks = new Map(), stage1 = [], stage2 = [];
    for (let b = 0; b < 0x1100; b++) {
        const blk = flags.subarray(b << 8, (b + 1) << 8);
        const key = Buffer.from(blk).toString("latin1");
        if (!blocks.has(key)) {
            blocks.set(key, blocks.size);
            stage2.push(blk);
        }
        stage1.push(blocks.get(key));
    }
    if (blocks.size > 256) throw new Error("more than 256 distinct blocks");
    return { blocks, stage1, stage2 };
}

export const rows = (arr, per) => {
    const out = [];
    for (let i = 0; i < arr.length; i += per) out.push("    " + Array.from(arr.slice(i, i + per)).join(",") + ",");
    return out.join("\n");
};
