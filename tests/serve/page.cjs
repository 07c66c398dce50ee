// page.cjs: the chat page of `gptc serve` in headless Chromium (Debian's, driven by
// playwright-core): a message typed in English and one in Korean get streamed replies
// (the text grows in several steps and ends as the API's reply to the same conversation),
// the conversation is kept and sent again, the stop button ends a long reply, and a
// screenshot is written. env: PORT, MODEL, SHOT (the PNG path), CHROMIUM.
const { chromium } = require('playwright-core');
const { check, fail, failed, raw } = require('./common.cjs');

const PORT = process.env.PORT, MODEL = process.env.MODEL;

(async () => {
  let browser;
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM || '/usr/bin/chromium', headless: true,
      args: ['--no-sandbox', '--disable-gpu'] });
  } catch (e) {
    fail('page: headless Chromium starts', String(e.message || e).split('\n')[0]);
    process.exit(1);
  }
  const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
  try {
    await page.goto(`http://127.0.0.1:${PORT}/`);
    await page.waitForFunction(() => document.querySelector('#model').options.length > 0);
    check('page: served at / and lists the models', await page.$eval('#model', (s) => s.value) === MODEL, 'no model');
    await page.fill('#temperature', '0');
    await page.fill('#max_tokens', '24');
    await page.fill('#system', 'You are brief.');
    // count how often the reply's text changes while it streams
    await page.evaluate(() => {
      window.__changes = 0;
      new MutationObserver(() => window.__changes++).observe(document.querySelector('#log'),
        { subtree: true, childList: true, characterData: true });
    });
    const turns = ['Hello! What is a cat?', '고양이는 어디에 앉았나요? 한국어로 답해 주세요.'];
    const history = [{ role: 'system', content: 'You are brief.' }];
    for (let k = 0; k < turns.length; k++) {
      await page.fill('#input', turns[k]);
      await page.press('#input', 'Enter');
      await page.waitForFunction((n) => document.querySelectorAll('.assistant[data-done="1"]').length === n, k + 1,
        { timeout: 60000 });
      const shown = await page.$$eval('.assistant .text', (els) => els.map((e) => e.textContent));
      history.push({ role: 'user', content: turns[k] });
      const ref = await raw(PORT, 'POST', '/v1/chat/completions', { model: MODEL, messages: history, temperature: 0,
        top_p: 0.95, top_k: 40, max_tokens: 24, repetition_penalty: 1.0 });
      const want = ref.json.choices[0].message.content;
      history.push({ role: 'assistant', content: want });
      const changes = await page.evaluate(() => window.__changes);
      const chunks = Number(await page.$$eval('.assistant', (els, i) => els[i].dataset.chunks, k));
      check(`page: turn ${k + 1} (${k ? 'Korean' : 'English'}) streamed in (${chunks} chunks) and equals the API's reply to the conversation so far`,
        shown[k] === want && want.length > 0 && chunks > 1 && changes >= 2,
        `shown ${JSON.stringify(shown[k])}, API ${JSON.stringify(want)}, ${chunks} chunks, ${changes} changes`);
    }
    const users = await page.$$eval('.user .text', (els) => els.map((e) => e.textContent));
    check('page: the conversation is kept (both user messages shown)', users.length === 2 && users[1] === turns[1],
      JSON.stringify(users));
    // stop: a long reply in a new conversation, ended by the button as soon as its first
    // text shows. The button is clicked inside the page, by an observer of the reply's
    // text: the test's small model writes 100 tokens in 0.1 s, and a click sent from here
    // (a round trip to the browser) came after the end on a Zen 4 in 8 tries of 8 and on a
    // Zen 3 in 24 of 24. A sampled reply may still end first (at an end-of-text token, or
    // with its whole stream in the first read): then try again.
    await page.fill('#max_tokens', '200');
    await page.fill('#temperature', '1');
    let meta = '', tries = 0;
    for (; tries < 24 && !meta.startsWith('stopped'); tries++) {
      await page.click('#clear');
      await page.evaluate(() => {
        const ob = new MutationObserver(() => {
          const t = document.querySelector('.assistant .text');
          if (t && t.textContent.length > 0) {
            ob.disconnect();
            document.querySelector('#stop').click();
          }
        });
        ob.observe(document.querySelector('#log'), { subtree: true, childList: true, characterData: true });
        window.__stopper = ob;
      });
      await page.fill('#input', 'Tell me a long story.');
      await page.press('#input', 'Enter');
      await page.waitForFunction(() => document.querySelectorAll('.assistant[data-done="1"]').length === 1, null,
        { timeout: 60000 });
      await page.evaluate(() => window.__stopper.disconnect());
      meta = await page.$eval('.assistant .meta', (e) => e.textContent);
    }
    check('page: the stop button ends a reply', meta.startsWith('stopped') && !(await page.isDisabled('#send')),
      `${meta} (${tries} tries)`);
    // for the screenshot: a sampled exchange in English and Korean
    await page.fill('#max_tokens', '40');
    await page.fill('#input', '안녕하세요! 오늘 날씨가 좋네요.');
    await page.press('#input', 'Enter');
    await page.waitForFunction(() => document.querySelectorAll('.assistant[data-done="1"]').length === 2);
    if (process.env.SHOT) await page.screenshot({ path: process.env.SHOT });
  } catch (e) {
    fail('page', e.stack || String(e));
  }
  await browser.close();
  process.exit(failed() ? 1 : 0);
})();
