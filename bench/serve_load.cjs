// serve_load.cjs: load for bench/bench_serve.sh: at each concurrency C, C clients each
// stream ROUNDS greedy completions of MAX tokens (distinct prompts, eos ignored by
// max_tokens being reached on a random model) from `gptc serve` through npm's openai
// client; prints per C the aggregate generated tokens/s over the wall time and the mean
// time to first token (request sent -> first text chunk). env: PORT, MODEL, MAX, ROUNDS, CONC.
const OpenAI = require('openai');
const api = new OpenAI({ baseURL: `http://127.0.0.1:${process.env.PORT}/v1`, apiKey: 'none', maxRetries: 0, timeout: 600000 });
const MAX = Number(process.env.MAX || 48), ROUNDS = Number(process.env.ROUNDS || 2);

async function one(i) {
  const t0 = performance.now();
  let first = 0, tokens = 0;
  const s = await api.completions.create({ model: process.env.MODEL, prompt: `Request ${i}: once upon a time in a land far away`,
    max_tokens: MAX, temperature: 0, stream: true, stream_options: { include_usage: true } });
  for await (const ch of s) {
    if (!first && ch.choices.length && ch.choices[0].text) first = performance.now();
    if (ch.usage) tokens = ch.usage.completion_tokens;
  }
  return { ttft: (first - t0) / 1000, tokens };
}

(async () => {
  for (const C of (process.env.CONC || '1,4,16').split(',').map(Number)) {
    let n = 0, tok = 0, ttft = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: C }, async (_, c) => {
      for (let r = 0; r < ROUNDS; r++) {
        const x = await one(c * 1000 + r);
        n++, tok += x.tokens, ttft += x.ttft;
      }
    }));
    const s = (performance.now() - t0) / 1000;
    console.log(`RESULT concurrency=${C} requests=${n} tokens=${tok} seconds=${s.toFixed(2)} tok_s=${(tok / s).toFixed(2)} ttft_s=${(ttft / n).toFixed(3)}`);
  }
})().catch((e) => { console.error(e); process.exit(1); });
