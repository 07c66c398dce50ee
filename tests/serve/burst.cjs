// burst.cjs: 200 requests, at most 16 at a time, against `gptc serve` (the ASan build in
// tests/t_serve.sh): ten kinds of request (completions and chat, greedy and seeded,
// streamed and not), each answer compared with the same request made alone first:
// nothing dropped, failed or mixed up. env: PORT, KEY, MODEL.
const { check, fail, failed, client, collect } = require('./common.cjs');

const api = client(process.env.PORT, process.env.KEY), M = process.env.MODEL;

function spec(k) {
  const chat = k % 2 === 1, stream = k % 3 !== 0, greedy = k % 4 < 2;
  const body = { model: M, max_tokens: 6 + 3 * k, temperature: greedy ? 0 : 1.1, seed: 1000 + k, stream };
  if (chat) body.messages = [{ role: 'user', content: `burst ${k}: 안녕 hello ${'!'.repeat(k)}` }];
  else body.prompt = `burst request number ${k} `;
  return { chat, stream, body };
}

async function run(s) {
  if (s.stream) {
    const r = await collect(s.chat ? await api.chat.completions.create(s.body) : await api.completions.create(s.body), s.chat);
    return JSON.stringify([r.texts[0], r.finish[0]]);
  }
  const r = s.chat ? await api.chat.completions.create(s.body) : await api.completions.create(s.body);
  const c = r.choices[0];
  return JSON.stringify([s.chat ? c.message.content : c.text, c.finish_reason]);
}

(async () => {
  const kinds = [];
  for (let k = 0; k < 10; k++) kinds.push(spec(k));
  const alone = [];
  for (const s of kinds) alone.push(await run(s));
  let next = 0, ok = 0, errors = [], wrong = [];
  const t0 = Date.now();
  async function worker() {
    while (next < 200) {
      const i = next++, k = i % 10;
      try {
        const got = await run(kinds[k]);
        if (got === alone[k]) ok++;
        else wrong.push(`#${i}: ${got} vs ${alone[k]}`);
      } catch (e) {
        errors.push(`#${i}: ${e.status || ''} ${e.message}`);
      }
    }
  }
  await Promise.all(Array.from({ length: 16 }, worker));
  check(`burst: 200 requests, 16 at a time, every answer == the same request alone (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
    ok === 200, `${ok} right, ${errors.length} failed (${errors.slice(0, 3).join('; ')}), ${wrong.length} wrong (${wrong.slice(0, 2).join('; ')})`);
  process.exit(failed() ? 1 : 0);
})().catch((e) => { fail('burst', e.stack); process.exit(1); });
