// Browser test of bangerd's dashboard (/ui/): drives it in headless Chromium
// through playwright-core with the CLI's client certificate, creates a VM
// from the form, watches it reach "running" through the event stream, looks
// at its stages, stops it, takes a screenshot and removes it.
//
// Environment: BANGER_API (https://127.0.0.1:7423), BANGER_CERT, BANGER_KEY
// (client certificate and key, PEM), BANGER_IMAGE (image to create the VM
// from), BANGER_SCREENSHOT (PNG to write), CHROMIUM (default /usr/bin/chromium).
// Exit: 0 passed, 1 failed, 77 skipped (no playwright-core or no Chromium).
import { existsSync } from 'node:fs';

const STEP_MS = 60_000;
const VM = 'webui1';

const env = (k, dflt) => process.env[k] || dflt;
const api = env('BANGER_API', '').replace(/\/+$/, '');
const chromiumPath = env('CHROMIUM', '/usr/bin/chromium');
const screenshotPath = env('BANGER_SCREENSHOT', '');
const image = env('BANGER_IMAGE', '');

function skip(why) { console.log(`SKIP: ${why}`); process.exit(77); }

let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  skip(`cannot import playwright-core (run npm ci in tests/api/browser): ${e.message}`);
}
if (!existsSync(chromiumPath)) skip(`no Chromium at ${chromiumPath} (set CHROMIUM)`);

const missing = ['BANGER_API', 'BANGER_CERT', 'BANGER_KEY', 'BANGER_IMAGE', 'BANGER_SCREENSHOT']
  .filter((k) => !process.env[k]);
if (missing.length) { console.log(`FAIL: missing environment: ${missing.join(', ')}`); process.exit(1); }

// Runs one step, bounded by STEP_MS whatever it waits on.
async function step(name, fn) {
  console.log(`step: ${name}`);
  let timer;
  const limit = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`step "${name}" took longer than ${STEP_MS / 1000}s`)), STEP_MS);
  });
  try { return await Promise.race([fn(), limit]); } finally { clearTimeout(timer); }
}

let browser, context, page;
let created = false;
let code = 0;
try {
  browser = await step('launch chromium', () =>
    chromium.launch({ executablePath: chromiumPath, headless: true, args: ['--no-sandbox'] }));
  context = await browser.newContext({
    clientCertificates: [{ origin: new URL(api).origin, certPath: process.env.BANGER_CERT, keyPath: process.env.BANGER_KEY }],
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  page = await context.newPage();
  page.setDefaultTimeout(STEP_MS - 5_000);
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') console.log(`page console: ${m.text()}`); });
  page.on('dialog', (d) => d.accept());  // Remove asks to confirm

  // Fails when the page shows an error, else returns the state text of VM's row.
  const stateOf = async () => {
    const { err, state } = await page.evaluate((name) => {
      const box = document.getElementById('error');
      const cell = document.querySelector(`tr[data-vm="${name}"] td.state`);
      return { err: box && !box.hidden ? box.textContent : '', state: cell ? cell.textContent : null };
    }, VM);
    if (err) throw new Error(`the page shows an error: ${err}`);
    return state;
  };
  const waitState = async (want) => {
    const deadline = Date.now() + STEP_MS;
    for (let last = null; Date.now() < deadline;) {
      const s = await stateOf();
      if (s !== last) { console.log(`  state: ${s ?? '(no row)'}`); last = s; }
      if (s === want) return;
      if (s === 'error') throw new Error(`VM ${VM} went to state error`);
      await page.waitForTimeout(200);
    }
  };

  await step(`open ${api}/ui/`, async () => {
    // Chromium aborts a navigation with ERR_NETWORK_CHANGED when the host's
    // interfaces change (other suites add bridges and taps meanwhile), or
    // replaces it with its error page: try again.
    let res;
    for (let attempt = 0; ; attempt++) {
      try { res = await page.goto(`${api}/ui/`, { waitUntil: 'load' }); break; }
      catch (e) {
        const changed = /ERR_NETWORK_CHANGED|another navigation to "chrome-error:/.test(String(e.message));
        if (!changed || attempt >= 4) throw e;
        console.log('  (navigation aborted by a network change; again)');
      }
    }
    if (!res || !res.ok()) throw new Error(`GET /ui/ answered ${res ? res.status() : 'nothing'}`);
  });
  await step('wait for the status line', async () => {
    await page.waitForSelector('#status[data-state="ok"]');
    console.log(`  ${await page.textContent('#status')}`);
  });
  await step(`wait for image ${image} in the form`, () =>
    page.waitForSelector(`#create-image option[value=${JSON.stringify(image)}]`, { state: 'attached' }));
  await step(`create ${VM} from the form (start checked)`, async () => {
    await page.fill('#create-name', VM);
    await page.selectOption('#create-image', image);
    await page.check('#create-start');
    await page.click('#create-submit');
    created = true;
  });
  await step(`wait until ${VM} is running (event stream, no reload)`, () => waitState('running'));
  await step('check that the event stream delivered events', async () => {
    await page.waitForFunction(() => Number(document.getElementById('events').dataset.count) > 0);
    console.log(`  events received: ${await page.getAttribute('#events', 'data-count')}`);
  });
  await step(`select ${VM} and wait for its stages`, async () => {
    await page.click(`tr[data-vm="${VM}"] td.name`);
    await page.waitForSelector(`#detail[data-vm="${VM}"]`);
    await page.waitForSelector('#stages tr[data-stage]');
    const stages = await page.$$eval('#stages tr[data-stage]', (trs) => trs.map((t) => t.dataset.stage));
    console.log(`  ${await page.textContent('#op-summary')}: ${stages.join(', ')}`);
  });
  await step(`stop ${VM}`, async () => {
    await page.click(`tr[data-vm="${VM}"] button[data-action="stop"]`);
    await waitState('stopped');
  });
  await step(`screenshot to ${screenshotPath}`, () => page.screenshot({ path: screenshotPath, fullPage: true }));
  await step(`remove ${VM}`, async () => {
    await page.click(`tr[data-vm="${VM}"] button[data-action="rm"]`);
    await page.waitForSelector(`tr[data-vm="${VM}"]`, { state: 'detached' });
    created = false;
  });
  console.log('PASS');
} catch (e) {
  code = 1;
  console.log(`FAIL: ${e.message}`);
  if (page) {
    await page.screenshot({ path: screenshotPath, fullPage: true, timeout: 10_000 })
      .then(() => console.log(`screenshot written to ${screenshotPath}`))
      .catch((err) => console.log(`no screenshot: ${err.message}`));
  }
  if (created && context) {  // best effort: leave no VM behind
    const ref = `${api}/v1/vms/${VM}`;
    await context.request.post(`${ref}/stop`, { timeout: 30_000 }).catch(() => {});
    const res = await context.request.delete(ref, { timeout: 30_000 }).catch(() => null);
    console.log(`cleanup: DELETE /v1/vms/${VM}: ${res ? res.status() : 'no answer'}`);
  }
} finally {
  if (browser) await browser.close().catch(() => {});
}
process.exit(code);
