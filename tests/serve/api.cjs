// api.cjs: `gptc serve` driven by the official openai npm client (tests/t_serve.sh starts
// the server): greedy and seeded output == `gptc generate` (completions, chat, streaming
// and not, n choices, stop strings, penalties), 8 concurrent streams == each alone,
// prefix reuse, logprobs, echo, /tokenize, /detokenize, /v1/embeddings (written for
// tests/ref/embed_torch.py), /metrics and every error status.
// env: PORT, KEY, GPTC (the reference program), MODEL (ChatML as text), CMODEL (ChatML
// markers as the tokenizer's special tokens), OUT (a directory for files).
const fs = require('fs');
const path = require('path');
const { execFileSync } = require('child_process');
const { pass, fail, check, failed, generate, client, raw, collect, openaiFinish, metrics } = require('./common.cjs');

const PORT = process.env.PORT, KEY = process.env.KEY, GPTC = process.env.GPTC;
const M = process.env.MODEL, CM = process.env.CMODEL, OUT = process.env.OUT;
const auth = { Authorization: `Bearer ${KEY}` };
const api = client(PORT, KEY);

// ChatML as gptc renders it (the markers are text for MODEL)
const chatml = (msgs) => msgs.map((m) => `<|im_start|>${m.role}\n${m.content}<|im_end|>\n`).join('') + '<|im_start|>assistant\n';

// a request, what it sends, and the `gptc generate` options that give the same output
const GREEDY = [['Hello world', 20], ['Once upon a time', 33], ['안녕하세요, 세계! 한국어 문장입니다.', 17]];

async function greedyCompletions() {
  for (const [prompt, n] of GREEDY) {
    const ref = generate(GPTC, M, prompt, ['--max-new-tokens', String(n)])[0];
    const r = await api.completions.create({ model: M, prompt, max_tokens: n, temperature: 0 });
    const c = r.choices[0];
    const tok = await raw(PORT, 'POST', '/tokenize', { content: prompt }, auth);
    check(`completions greedy == gptc generate (${JSON.stringify(prompt)}, ${n} tokens)`,
      c.text === ref.text && c.finish_reason === openaiFinish(ref.finish_reason) &&
      r.usage.completion_tokens === ref.token_ids.length && r.usage.prompt_tokens === tok.json.tokens.length &&
      r.usage.total_tokens === r.usage.prompt_tokens + r.usage.completion_tokens && r.object === 'text_completion',
      `got ${JSON.stringify(c.text)} ${c.finish_reason} ${JSON.stringify(r.usage)}, want ${JSON.stringify(ref.text)} ${ref.finish_reason} ${ref.token_ids.length}`);
    const s = await collect(await api.completions.create({ model: M, prompt, max_tokens: n, temperature: 0, stream: true,
      stream_options: { include_usage: true } }), false);
    check(`completions greedy streamed == gptc generate (${JSON.stringify(prompt)})`,
      s.texts[0] === ref.text && s.finish[0] === openaiFinish(ref.finish_reason) && s.chunks > 2 && s.usage &&
      s.usage.completion_tokens === ref.token_ids.length,
      `got ${JSON.stringify(s.texts[0])} ${s.finish[0]} in ${s.chunks} chunks, usage ${JSON.stringify(s.usage)}`);
  }
}

async function sampling() {
  const prompt = 'The meaning of life is';
  const ref = generate(GPTC, M, prompt, ['--max-new-tokens', '24', '--do-sample', '--temperature', '0.8', '--top-p', '0.9',
    '--seed', '7']);
  const r = await api.completions.create({ model: M, prompt, max_tokens: 24, temperature: 0.8, top_p: 0.9, seed: 7 });
  check('completions seeded sampling (temperature 0.8, top_p 0.9, top_k 50, seed 7) == gptc generate',
    r.choices[0].text === ref[0].text, `got ${JSON.stringify(r.choices[0].text)}, want ${JSON.stringify(ref[0].text)}`);
  const ref3 = generate(GPTC, M, prompt, ['--max-new-tokens', '15', '--do-sample', '--temperature', '1.2',
    '--seed', '11', '--num-return-sequences', '3', '--top-k', '0', '--min-p', '0.00001']);
  const r3 = await api.completions.create({ model: M, prompt, max_tokens: 15, temperature: 1.2, seed: 11, n: 3, top_k: 0,
    min_p: 0.00001 });
  check('completions n=3 seeded (top_k 0, min_p) == gptc generate --num-return-sequences 3',
    r3.choices.length === 3 && r3.choices.every((c, i) => c.text === ref3[i].text && c.index === i) &&
    r3.usage.completion_tokens === ref3.reduce((a, s) => a + s.token_ids.length, 0),
    `got ${JSON.stringify(r3.choices.map((c) => c.text))}, want ${JSON.stringify(ref3.map((s) => s.text))}`);
  const refp = generate(GPTC, M, prompt, ['--max-new-tokens', '20', '--presence-penalty', '0.7', '--frequency-penalty',
    '1.1', '--repetition-penalty', '1.3']);
  const rp = await api.completions.create({ model: M, prompt, max_tokens: 20, temperature: 0, presence_penalty: 0.7,
    frequency_penalty: 1.1, repetition_penalty: 1.3 });
  check('completions greedy with presence, frequency and repetition penalties == gptc generate',
    rp.choices[0].text === refp[0].text, `got ${JSON.stringify(rp.choices[0].text)}, want ${JSON.stringify(refp[0].text)}`);
  // a stop string taken from the greedy text: the text ends before it, finish_reason stop
  const g = generate(GPTC, M, 'Hello world', ['--max-new-tokens', '20'])[0].text;
  const stop = g.slice(9, 13);
  const refs = generate(GPTC, M, 'Hello world', ['--max-new-tokens', '20', '--stop', stop])[0];
  const rs = await api.completions.create({ model: M, prompt: 'Hello world', max_tokens: 20, temperature: 0, stop: [stop] });
  check(`completions stop string ${JSON.stringify(stop)} == gptc generate --stop`,
    rs.choices[0].text === refs.text && rs.choices[0].finish_reason === 'stop' && !rs.choices[0].text.includes(stop),
    `got ${JSON.stringify(rs.choices[0].text)} ${rs.choices[0].finish_reason}, want ${JSON.stringify(refs.text)}`);
  // beam search, served alone: the best n of num_beams, as gptc generate --num-beams
  const refb = generate(GPTC, M, prompt, ['--max-new-tokens', '10', '--num-beams', '3', '--num-return-sequences', '2',
    '--length-penalty', '0.8']);
  const rb = await api.completions.create({ model: M, prompt, max_tokens: 10, num_beams: 3, n: 2, length_penalty: 0.8 });
  const sb = await collect(await api.completions.create({ model: M, prompt, max_tokens: 10, num_beams: 3, n: 2,
    length_penalty: 0.8, stream: true }), false);
  check('completions num_beams 3, n 2 == gptc generate --num-beams 3 --num-return-sequences 2 (streamed too)',
    rb.choices.length === 2 && rb.choices.every((c, i) => c.text === refb[i].text && c.finish_reason === openaiFinish(refb[i].finish_reason)) &&
    sb.texts[0] === refb[0].text && sb.texts[1] === refb[1].text,
    `got ${JSON.stringify(rb.choices.map((c) => c.text))} / ${JSON.stringify(sb.texts)}, want ${JSON.stringify(refb.map((q) => q.text))}`);
  const e = await api.completions.create({ model: M, prompt: 'Hello world', max_tokens: 5, temperature: 0, echo: true });
  const ge = generate(GPTC, M, 'Hello world', ['--max-new-tokens', '5'])[0].text;
  check('completions echo: the prompt, then the completion', e.choices[0].text === 'Hello world' + ge,
    `got ${JSON.stringify(e.choices[0].text)}`);
}

async function chat() {
  const msgs = [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Say hello. 안녕이라고 말해 줘.' }];
  const ref = generate(GPTC, M, chatml(msgs), ['--max-new-tokens', '25', '--stop', '<|im_end|>'])[0];
  const r = await api.chat.completions.create({ model: M, messages: msgs, max_tokens: 25, temperature: 0 });
  const c = r.choices[0];
  check('chat greedy (ChatML as text) == gptc generate on the rendered conversation',
    c.message.role === 'assistant' && c.message.content === ref.text && c.finish_reason === openaiFinish(ref.finish_reason) &&
    r.object === 'chat.completion' && r.usage.completion_tokens === ref.token_ids.length,
    `got ${JSON.stringify(c.message.content)} ${c.finish_reason}, want ${JSON.stringify(ref.text)} ${ref.finish_reason}`);
  const s = await collect(await api.chat.completions.create({ model: M, messages: msgs, max_tokens: 25, temperature: 0,
    stream: true }), true);
  check('chat greedy streamed == not streamed', s.texts[0] === ref.text && s.finish[0] === c.finish_reason,
    `got ${JSON.stringify(s.texts[0])}`);
  // markers as special tokens: the reply ends at the <|im_end|> id; the same as gptc
  // generate on the rendered text (its special tokens are recognized as --prompt does)
  const ids = (await raw(PORT, 'POST', '/tokenize', { model: CM, content: '<|im_end|>' }, auth)).json.tokens;
  const refc = generate(GPTC, CM, chatml(msgs), ['--max-new-tokens', '12', '--eos-token-id', String(ids[0])])[0];
  const rc = await api.chat.completions.create({ model: CM, messages: msgs, max_tokens: 12, temperature: 0 });
  const sc = await collect(await api.chat.completions.create({ model: CM, messages: msgs, max_tokens: 12, temperature: 0,
    stream: true }), true);
  check('chat on a model with marker tokens == gptc generate (eos = <|im_end|>), streamed == not',
    ids.length === 1 && rc.model === CM && rc.choices[0].message.content === refc.text &&
    rc.usage.completion_tokens === refc.token_ids.length && sc.texts[0] === refc.text,
    `${JSON.stringify(rc.choices[0].message.content)} / ${JSON.stringify(sc.texts[0])} vs ${JSON.stringify(refc.text)}`);
  // content as a list of text parts
  const parts = await api.chat.completions.create({ model: M, max_tokens: 25, temperature: 0, messages: [msgs[0],
    { role: 'user', content: [{ type: 'text', text: 'Say hello. ' }, { type: 'text', text: '안녕이라고 말해 줘.' }] }] });
  check('chat content as text parts == as a string', parts.choices[0].message.content === ref.text, 'differs');
  // logprobs
  const lp = await api.chat.completions.create({ model: M, messages: msgs, max_tokens: 6, temperature: 0, logprobs: true,
    top_logprobs: 3 });
  const content = lp.choices[0].logprobs && lp.choices[0].logprobs.content;
  check('chat logprobs: one entry per token, 3 alternatives, the greedy choice first',
    content && content.length === lp.usage.completion_tokens && content.every((t) => t.top_logprobs.length === 3 &&
      t.top_logprobs[0].logprob === t.logprob && t.logprob <= 0 && Array.isArray(t.bytes)) &&
    content.map((t) => t.token).join('') === lp.choices[0].message.content,
    JSON.stringify(lp.choices[0].logprobs).slice(0, 300));
  const lc = await api.completions.create({ model: M, prompt: 'Hello world', max_tokens: 5, temperature: 0, logprobs: 2 });
  const L = lc.choices[0].logprobs;
  check('completions logprobs: tokens, token_logprobs, top_logprobs, text_offset',
    L && L.tokens.length === 5 && L.token_logprobs.length === 5 && L.top_logprobs.every((o) => Object.keys(o).length >= 1) &&
    L.tokens.join('') === lc.choices[0].text && L.text_offset[0] === 0, JSON.stringify(L).slice(0, 300));
}

// the requests of the concurrency test: completions and chat, greedy and seeded, n = 1 or 2
function specs() {
  const out = [];
  for (let i = 0; i < 8; i++) {
    const greedy = i % 2 === 0, isChat = i % 3 === 0;
    const body = { model: i === 5 ? CM : M, max_tokens: 12 + 4 * i, temperature: greedy ? 0 : 0.9, seed: 100 + i, stream: true };
    if (i === 3) body.n = 2;
    if (isChat) body.messages = [{ role: 'user', content: `Question ${i}: 몇 시예요? What time is it?` }];
    else body.prompt = `Request ${i} says: ` + 'x'.repeat(i);
    out.push({ chat: isChat, body });
  }
  return out;
}

async function runStream(spec) {
  const s = spec.chat ? await api.chat.completions.create(spec.body) : await api.completions.create(spec.body);
  return collect(s, spec.chat);
}

async function concurrent() {
  const sp = specs(), alone = [];
  for (const s of sp) alone.push(await runStream(s));
  const before = await metrics(PORT, KEY);
  const together = await Promise.all(sp.map(runStream));
  const after = await metrics(PORT, KEY);
  let bad = [];
  for (let i = 0; i < sp.length; i++)
    if (JSON.stringify(alone[i].texts) !== JSON.stringify(together[i].texts) ||
        JSON.stringify(alone[i].finish) !== JSON.stringify(together[i].finish)) bad.push(i);
  const rows = after.gptc_decode_batch_rows_total - before.gptc_decode_batch_rows_total;
  const steps = after.gptc_decode_steps_total - before.gptc_decode_steps_total;
  check('8 concurrent streaming requests each == the same request alone (greedy and seeded, chat and completions, n=2)',
    bad.length === 0, `requests ${bad.join(', ')} differ: ${bad.map((i) => JSON.stringify(alone[i].texts) + ' vs ' + JSON.stringify(together[i].texts)).join('; ')}`);
  check('the concurrent requests were decoded together (mean batch > 2)', steps > 0 && rows / steps > 2,
    `${rows} rows in ${steps} steps`);
}

async function prefixReuse() {
  const prompt = 'the cat sat on the mat. '.repeat(18);
  const ref = generate(GPTC, M, prompt, ['--max-new-tokens', '10'])[0];
  const m0 = await metrics(PORT, KEY);
  const a = await api.completions.create({ model: M, prompt, max_tokens: 10, temperature: 0 });
  const b = await api.completions.create({ model: M, prompt, max_tokens: 10, temperature: 0 });
  const m1 = await metrics(PORT, KEY);
  const reused = m1.gptc_prompt_tokens_reused_total - m0.gptc_prompt_tokens_reused_total;
  check(`prefix reuse: a ${a.usage.prompt_tokens}-token prompt again reuses ${reused} cached tokens, same output == gptc generate`,
    reused >= 128 && a.choices[0].text === ref.text && b.choices[0].text === ref.text,
    `reused ${reused}; ${JSON.stringify(b.choices[0].text)} vs ${JSON.stringify(ref.text)}`);
}

async function tokens() {
  const text = 'Hello, 세계! <|endoftext|> tokens';
  const t = await raw(PORT, 'POST', '/tokenize', { content: text }, auth);
  fs.writeFileSync(path.join(OUT, 'tok.txt'), text);
  const ids = execFileSync(GPTC, ['tokenize', '--model', M, '--allow-special', path.join(OUT, 'tok.txt')], { encoding: 'utf8' })
    .trim().split(/\s+/).map(Number);
  check('/tokenize == gptc tokenize --allow-special (as gptc generate --prompt encodes)',
    t.status === 200 && JSON.stringify(t.json.tokens) === JSON.stringify(ids), `${t.text} vs ${ids}`);
  const d = await raw(PORT, 'POST', '/detokenize', { tokens: ids }, auth);
  check('/detokenize gives the text back', d.status === 200 && d.json.content === text, d.text);
}

async function embeddings() {
  const inputs = ['Hello world', '안녕하세요, 세계', 'the cat sat on the mat. '.repeat(15)];
  const r = await api.embeddings.create({ model: M, input: inputs });
  const ids = [];
  for (const s of inputs) ids.push((await raw(PORT, 'POST', '/tokenize', { content: s }, auth)).json.tokens);
  const one = await api.embeddings.create({ model: M, input: inputs[1] });
  const flt = await raw(PORT, 'POST', '/v1/embeddings', { model: M, input: inputs[1], encoding_format: 'float' }, auth);
  const C = r.data[0].embedding.length;
  check('/v1/embeddings: one per input, n_embd floats, usage counts the tokens, base64 (the client\'s default) == float',
    r.data.length === 3 && C === 64 && r.data.every((d, i) => d.index === i && d.object === 'embedding' && d.embedding.length === C) &&
    r.usage.prompt_tokens === ids.reduce((a, x) => a + x.length, 0) &&
    JSON.stringify(one.data[0].embedding) === JSON.stringify(r.data[1].embedding) && flt.status === 200 &&
    JSON.stringify(flt.json.data[0].embedding.map(Math.fround)) === JSON.stringify(Array.from(r.data[1].embedding)),
    JSON.stringify(r.usage) + ' ' + C);
  fs.writeFileSync(path.join(OUT, 'emb.json'), JSON.stringify({ inputs: ids, embeddings: r.data.map((d) => Array.from(d.embedding)) }));
}

async function errors() {
  const post = (p, body, h) => raw(PORT, 'POST', p, body, h === undefined ? auth : h);
  const shape = (r) => r.json && r.json.error && typeof r.json.error.message === 'string' && typeof r.json.error.type === 'string' &&
    'code' in r.json.error;
  const cases = [
    ['malformed JSON', await post('/v1/completions', '{"prompt": "x",'), 400],
    ['a body that is not an object', await post('/v1/chat/completions', '[1, 2]'), 400],
    ['temperature out of range', await post('/v1/completions', { prompt: 'x', temperature: 5 }), 400],
    ['max_tokens 0', await post('/v1/completions', { prompt: 'x', max_tokens: 0 }), 400],
    ['n above --parallel', await post('/v1/completions', { prompt: 'x', n: 99 }), 400],
    ['no prompt', await post('/v1/completions', { max_tokens: 3 }), 400],
    ['messages not a list', await post('/v1/chat/completions', { messages: 'hi' }), 400],
    ['a message role that is not known', await post('/v1/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }), 400],
    ['stop not a string', await post('/v1/completions', { prompt: 'x', stop: 5 }), 400],
    ['a prompt longer than the context', await post('/v1/completions', { prompt: 'the cat '.repeat(200) }), 400],
    ['a token id out of range', await post('/v1/completions', { prompt: [1, 2, 99999999] }), 400],
    ['num_beams above 16', await post('/v1/completions', { prompt: 'x', num_beams: 17 }), 400],
    ['logprobs with beam search', await post('/v1/completions', { prompt: 'x', num_beams: 2, logprobs: 1 }), 400],
    ['n above num_beams', await post('/v1/completions', { prompt: 'x', num_beams: 2, n: 3 }), 400],
    ['unknown model', await post('/v1/completions', { model: 'no-such-model', prompt: 'x' }), 404],
    ['unknown model (chat)', await post('/v1/chat/completions', { model: 'nope', messages: [{ role: 'user', content: 'x' }] }), 404],
    ['no API key', await post('/v1/completions', { prompt: 'x' }, {}), 401],
    ['a wrong API key', await post('/v1/completions', { prompt: 'x' }, { Authorization: 'Bearer wrong' }), 401],
    ['/v1/models without the key', await raw(PORT, 'GET', '/v1/models'), 401],
    ['a body larger than --max-body', await post('/v1/completions', { prompt: 'y'.repeat(70000) }), 413],
    ['an unknown route', await post('/v1/nothing', {}), 404],
    ['GET on a POST route', await raw(PORT, 'GET', '/v1/completions', undefined, auth), 405],
    ['/tokenize without content', await post('/tokenize', { text: 'x' }), 400],
    ['/detokenize with a bad id', await post('/detokenize', { tokens: [-1] }), 400],
    ['/v1/embeddings without input', await post('/v1/embeddings', {}), 400],
    ['/v1/embeddings with an unknown encoding_format', await post('/v1/embeddings', { input: 'x', encoding_format: 'hex' }), 400],
  ];
  for (const [name, r, want] of cases)
    check(`error: ${name} -> ${want} with OpenAI's error shape`, r.status === want && shape(r), `status ${r.status}: ${r.text.slice(0, 200)}`);
  // the client's typed errors
  try {
    await api.completions.create({ model: 'no-such-model', prompt: 'x' });
    fail('openai client: unknown model raises NotFoundError', 'no error');
  } catch (e) {
    check('openai client: unknown model raises NotFoundError', e.status === 404 && e.code === 'model_not_found', `${e.status} ${e.code}`);
  }
  const h = await raw(PORT, 'GET', '/health');
  check('/health is open without the key', h.status === 200 && h.json.status === 'ok', h.text);
  const models = await api.models.list();
  const ids = models.data.map((m) => m.id);
  check('/v1/models lists both models', ids.length === 2 && ids.includes(M) && ids.includes(CM), JSON.stringify(ids));
}

async function disconnect() {
  const ac = new AbortController();
  const before = await metrics(PORT, KEY);
  let got = 0;
  try {
    const s = await api.completions.create({ model: M, prompt: 'A long story:', max_tokens: 200, temperature: 0, stream: true },
      { signal: ac.signal });
    for await (const ch of s) { if (++got === 3) ac.abort(); }
  } catch (e) { /* the abort */ }
  const t0 = Date.now();
  let m;
  for (;;) {
    m = await metrics(PORT, KEY);
    if (m.gptc_slots_busy === 0 || Date.now() - t0 > 5000) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const gen = m.gptc_generated_tokens_total - before.gptc_generated_tokens_total;
  check('a client that disconnects mid-stream frees its slot at once (not after its 200 tokens)',
    got >= 3 && m.gptc_slots_busy === 0 && gen < 150, `slots busy ${m.gptc_slots_busy}, ${gen} tokens generated, ${Date.now() - t0} ms`);
  const r = await api.completions.create({ model: M, prompt: 'Hello world', max_tokens: 20, temperature: 0 });
  check('the server answers after the disconnect', r.choices[0].text === generate(GPTC, M, 'Hello world', ['--max-new-tokens', '20'])[0].text, 'differs');
}

async function metricsCheck() {
  const r = await raw(PORT, 'GET', '/metrics', undefined, auth);
  const names = ['gptc_requests_total{status="2xx"}', 'gptc_prompt_tokens_total', 'gptc_generated_tokens_total', 'gptc_queue_length',
    'gptc_time_to_first_token_seconds_sum', 'gptc_time_to_first_token_seconds_count', 'gptc_decode_tokens_per_second',
    'gptc_slots_busy', 'gptc_requests_total{status="400"}', 'gptc_requests_total{status="401"}'];
  const m = await metrics(PORT, KEY);
  const missing = names.filter((n) => !(n in m));
  check('/metrics: Prometheus text with the gptc_ counters, non-zero after the requests',
    r.status === 200 && r.headers.get('content-type').startsWith('text/plain') && missing.length === 0 &&
    m['gptc_requests_total{status="2xx"}'] > 10 && m.gptc_generated_tokens_total > 100 && m['gptc_requests_total{status="400"}'] > 5 &&
    m.gptc_decode_tokens_per_second > 0 && /# TYPE gptc_generated_tokens_total counter/.test(r.text),
    `missing ${missing.join(', ')}: ${r.text.slice(0, 300)}`);
}

(async () => {
  const steps = [greedyCompletions, sampling, chat, concurrent, prefixReuse, tokens, embeddings, errors, disconnect, metricsCheck];
  for (const f of steps) {
    try { await f(); } catch (e) { fail(f.name, e.stack || String(e)); }
  }
  process.exit(failed() ? 1 : 0);
})();
