// common.cjs: what the server tests share: PASS/FAIL lines, `gptc generate` as the
// reference, the official openai client pointed at the server under test.
const { execFileSync } = require('child_process');
const OpenAI = require('openai');

let failures = 0;
function pass(name, extra) { console.log(`PASS ${name}${extra ? ' (' + extra + ')' : ''}`); }
function fail(name, why) { failures++; console.log(`FAIL ${name}: ${why}`); }
function check(name, ok, why) { if (ok) pass(name); else fail(name, why); }
function failed() { return failures; }

// `gptc generate --json` for a prompt: {text, token_ids, finish_reason} of each sequence.
function generate(gptc, model, prompt, args) {
  const out = execFileSync(gptc, ['generate', '--model', model, '--prompt', prompt, '--json', '--threads', '1', ...args],
    { encoding: 'utf8' });
  return JSON.parse(out).sequences;
}

function client(port, key) {
  return new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key || 'none', maxRetries: 0, timeout: 120000 });
}

// A raw request (for the error cases the client does not let one send).
async function raw(port, method, path, body, headers) {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, {
    method, headers: { 'Content-Type': 'application/json', ...(headers || {}) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await r.text();
  let json = null;
  try { json = JSON.parse(text); } catch (e) { /* not JSON */ }
  return { status: r.status, text, json, headers: r.headers };
}

// The streamed text of a completion or chat completion, and the finish reasons.
async function collect(stream, chat) {
  const texts = {}, finish = {};
  let chunks = 0, usage = null;
  for await (const ch of stream) {
    chunks++;
    if (ch.usage) usage = ch.usage;
    for (const c of ch.choices) {
      const t = chat ? (c.delta && c.delta.content) || '' : c.text || '';
      texts[c.index] = (texts[c.index] || '') + t;
      if (c.finish_reason) finish[c.index] = c.finish_reason;
    }
  }
  return { texts, finish, chunks, usage };
}

// gptc's finish reasons as OpenAI names them
function openaiFinish(r) { return r === 'length' ? 'length' : 'stop'; }

async function metrics(port, key) {
  const r = await raw(port, 'GET', '/metrics', undefined, key ? { Authorization: `Bearer ${key}` } : {});
  const m = {};
  for (const line of r.text.split('\n')) {
    const k = line.match(/^(gptc_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$/);
    if (k) m[k[1]] = Number(k[2]);
  }
  return m;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

module.exports = { pass, fail, check, failed, generate, client, raw, collect, openaiFinish, metrics, sleep };
