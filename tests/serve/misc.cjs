// misc.cjs: the server's limits on a model slow enough for them (tests/t_serve.sh): with
// MODE=queue (--parallel 1 --queue 1) a full queue answers 503 while the others finish;
// else (--timeout TIMEOUT) a long request gets 408 (a stream ends with a timeout event),
// and SIGTERM lets a stream in flight finish while new connections are refused.
// env: PORT, MODEL, PID (the server's), TIMEOUT (its --timeout in seconds), MODE.
const { check, fail, failed, client, raw, collect, sleep } = require('./common.cjs');

const PORT = process.env.PORT, M = process.env.MODEL, api = client(PORT);
const long = { model: M, prompt: 'Once upon a time', max_tokens: 480, temperature: 0 };

async function queueFull() {
  const reqs = [];
  for (let i = 0; i < 4; i++) {
    reqs.push(raw(PORT, 'POST', '/v1/completions', { ...long, max_tokens: 8 }));
    await sleep(30);
  }
  const rs = await Promise.all(reqs);
  const st = rs.map((r) => r.status).sort();
  const busy = rs.filter((r) => r.status === 503);
  check('a full queue (--parallel 1 --queue 1): the first two are served, the others get 503 server_busy',
    st.filter((s) => s === 200).length === 2 && busy.length === 2 && busy.every((r) => r.json.error.code === 'server_busy'),
    `statuses ${st.join(', ')}`);
}

async function timeout() {
  const t0 = Date.now();
  const r = await raw(PORT, 'POST', '/v1/completions', long);
  const s = (Date.now() - t0) / 1000, lim = Number(process.env.TIMEOUT);
  check(`--timeout ${lim}: a longer request gets 408 after about ${lim} s`,
    r.status === 408 && r.json.error.code === 'timeout' && s >= lim && s < lim + 3, `status ${r.status} after ${s} s: ${r.text.slice(0, 200)}`);
  let events = '';
  try {
    const st = await api.completions.create({ ...long, stream: true });
    for await (const ch of st) events += JSON.stringify(ch);
    fail('--timeout: a stream past it ends with an error event', 'no error: ' + events.slice(-200));
  } catch (e) {
    check('--timeout: a stream past it ends with an error event', /longer than --timeout/.test(String(e.message)), String(e.message));
  }
  const ok = await raw(PORT, 'POST', '/v1/completions', { ...long, max_tokens: 3 });
  check('--timeout: a short request is answered', ok.status === 200, ok.text.slice(0, 200));
  // the slot was freed: metrics say nothing is busy
  const m = await raw(PORT, 'GET', '/metrics');
  check('--timeout: the timed-out requests left no busy slot', /gptc_slots_busy 0\b/.test(m.text), m.text.match(/gptc_slots_busy.*/)[0]);
}

async function drain() {
  const s = await api.completions.create({ ...long, max_tokens: 20, stream: true });
  let text = '', n = 0, finish = null, killed = false;
  for await (const ch of s) {
    if (!killed) {
      process.kill(Number(process.env.PID), 'SIGTERM');
      killed = true;
      await sleep(300);
    }
    n++;
    text += ch.choices[0] ? ch.choices[0].text : '';
    if (ch.choices[0] && ch.choices[0].finish_reason) finish = ch.choices[0].finish_reason;
  }
  check('SIGTERM: the stream in flight finishes (finish_reason length)', finish === 'length' && n > 5, `finish ${finish}, ${n} chunks`);
  let refused = false, status = 0;
  try { status = (await raw(PORT, 'GET', '/health')).status; } catch (e) { refused = true; }
  check('SIGTERM: new requests are refused (503 draining, or no connection once it stopped)', refused || status === 503,
    `status ${status}`);
}

(async () => {
  for (const f of process.env.MODE === 'queue' ? [queueFull] : [timeout, drain]) {
    try { await f(); } catch (e) { fail(f.name, e.stack || String(e)); }
  }
  process.exit(failed() ? 1 : 0);
})();
