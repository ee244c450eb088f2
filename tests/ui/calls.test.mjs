// Browser tests of the provider calls (issue 16, parts 1 and 2): a story's page lists its
// calls (retries, failures and unpriced ones included), and the analytics page shows the
// provider latency beside the phase durations and the caller's own calls only. Debian's
// Chromium through playwright-core against a real `storyloom serve` with its own data
// directory, as ui.test.mjs does.
//
//   STORYLOOM_BINARY=build/storyloom node --test tests/ui/
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BINARY = process.env.STORYLOOM_BINARY;
const CHROMIUM = process.env.STORYLOOM_CHROMIUM || '/usr/bin/chromium';
const PASSWORD = 'alice-password-1';
const SLOW = 180_000;  // the ASan build is several times slower than a release build
const STOP_GRACE_MS = 20_000;
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'WARNING: ThreadSanitizer',
  'ERROR: ThreadSanitizer', 'runtime error:', 'SUMMARY: UndefinedBehaviorSanitizer'];

let tmp;
let server;
let serverLog;
let baseUrl;
let context;
let page;
let bobToken;
const pageErrors = [];

function cli(args, input) {
  const r = spawnSync(BINARY, ['--data-dir', path.join(tmp, 'data'), ...args], {
    input, encoding: 'utf8', env: { ...process.env, STORYLOOM_ACCESS_LOG: 'false' }, timeout: 120_000,
  });
  assert.equal(r.status, 0, `storyloom ${args.join(' ')} failed: ${r.error || ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

async function waitHealthy(ms) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`storyloom serve exited:\n${fs.readFileSync(serverLog, 'utf8')}`);
    const m = /Storyloom is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(fs.readFileSync(serverLog, 'utf8'));
    if (m) {
      try {
        const r = await fetch(`${m[1]}/healthz`);
        if (r.ok) return m[1];
      } catch { /* not answering yet */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`storyloom serve did not become healthy:\n${fs.readFileSync(serverLog, 'utf8')}`);
}

// A JSON call from inside the page, with the session cookie and the CSRF header.
function apiFromPage(method, url, body) {
  return page.evaluate(async ({ method, url, body }) => {
    const csrf = document.cookie.split('; ').find((c) => c.startsWith('sl_csrf='))?.slice(8) || '';
    const r = await fetch(url, {
      method, headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: r.status, body: r.status === 204 ? null : await r.json() };
  }, { method, url, body });
}

before(async () => {
  assert.ok(BINARY, 'set STORYLOOM_BINARY to the storyloom binary');
  assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps (Debian package chromium)`);
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'storyloom-ui-calls-'));
  cli(['users', 'add', 'alice', '--password-stdin'], PASSWORD + '\n');
  cli(['users', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
  bobToken = /slt_[A-Za-z0-9_-]+/.exec(cli(['tokens', 'create', 'bob']))[0];
  serverLog = path.join(tmp, 'server.log');
  const log = fs.openSync(serverLog, 'a');
  server = spawn(BINARY, ['--data-dir', path.join(tmp, 'data'), 'serve', '--port', '0', '--workers', '1'],
    { stdio: ['ignore', log, log], env: { ...process.env, STORYLOOM_ACCESS_LOG: 'false' } });
  baseUrl = await waitHealthy(60_000);
  context = await chromium.launchPersistentContext(path.join(tmp, 'profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 860 },
  });
  context.setDefaultTimeout(30_000);
  page = context.pages()[0] || await context.newPage();
  page.on('pageerror', (e) => pageErrors.push(e.message));
});

afterEach(() => {
  const errors = pageErrors.splice(0);
  assert.deepEqual(errors, [], `JavaScript errors in the page:\n${errors.join('\n')}`);
});

after(async () => {
  await context?.close().catch(() => {});
  const problems = [];
  if (server && server.exitCode === null && server.signalCode === null) {
    server.kill('SIGTERM');
    const stopped = await new Promise((r) => {
      const t = setTimeout(() => r(false), STOP_GRACE_MS);
      server.on('exit', () => {
        clearTimeout(t);
        r(true);
      });
    });
    if (!stopped) {
      server.kill('SIGKILL');
      problems.push(`storyloom serve did not stop within ${STOP_GRACE_MS} ms of SIGTERM`);
    } else if (server.exitCode !== 0) {
      problems.push(`storyloom serve ended with exit code ${server.exitCode} signal ${server.signalCode} after SIGTERM`);
    }
  }
  const text = serverLog && fs.existsSync(serverLog) ? fs.readFileSync(serverLog, 'utf8') : '';
  if (SANITIZER_MARKERS.some((m) => text.includes(m))) problems.push(`storyloom serve printed a sanitizer report:\n${text.slice(-4000)}`);
  if (tmp && !process.env.STORYLOOM_KEEP_TMP && problems.length === 0) fs.rmSync(tmp, { recursive: true, force: true });
  assert.deepEqual(problems, [], problems.join('\n'));
});

describe('Provider calls in a browser', { concurrency: 1 }, () => {
  let workflowId;

  it("lists a story's calls on its page, failed and unpriced ones included", { timeout: SLOW }, async () => {
    await page.goto(`${baseUrl}/#/login`);
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
    const created = await apiFromPage('POST', '/api/v1/workflows', { prompt: 'A fox who counts the stars', options: { scenes: 1 } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workflowId = created.body.id;
    await page.goto(`${baseUrl}/#/w/${workflowId}`);
    await page.locator('article.workflow[data-final="true"]').waitFor({ timeout: SLOW });
    assert.equal(await page.locator('article.workflow').getAttribute('data-status'), 'completed');
    // The offline pipeline's own calls are listed once the story is done.
    const section = page.locator('#story-calls');
    await section.getByRole('heading', { name: 'Provider calls' }).waitFor();
    await section.locator('tr.call', { hasText: 'offline' }).first().waitFor();

    // A failed, unpriced retry recorded for this story shows with its error and no cost.
    const rec = await apiFromPage('POST', '/api/v1/usage', {
      workflow_id: workflowId, provider: 'acme', model: 'm-1', operation: 'image', phase: 'images',
      status: 'error', http_status: 429, error_code: 'rate_limited', attempt: 2, duration_ms: 1500,
    });
    assert.equal(rec.status, 201, JSON.stringify(rec.body));
    await page.reload();
    const row = page.locator('#story-calls tr.call', { hasText: 'acme' });
    await row.waitFor();
    const text = await row.innerText();
    assert.match(text, /m-1/);
    assert.match(text, /unpriced/);
    assert.match(text, /rate_limited \(HTTP 429\)/);
    assert.match(text, /1\.5 s/);
    // Newest first: the call just recorded is the first row.
    assert.equal(await page.locator('#story-calls tr.call').first().getAttribute('data-call-id'), String(rec.body.id));
  });

  it('shows provider latency beside the phase durations, and only your own calls', { timeout: SLOW }, async () => {
    // Bob's call must not reach Alice's dashboard.
    const r = await fetch(`${baseUrl}/api/v1/usage`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${bobToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ provider: 'bobs-provider', model: 'b', operation: 'chat', duration_ms: 10 }),
    });
    assert.equal(r.status, 201);
    await page.goto(`${baseUrl}/#/analytics`);
    const latency = page.locator('#provider-latency');
    await latency.getByRole('heading', { name: 'Provider latency' }).waitFor();
    const acme = latency.locator('tr[data-provider="acme"]');
    await acme.waitFor();
    const cells = await acme.locator('td').allInnerTexts();
    // Provider / model, operation, calls, p50, p95, p99, error rate, retries per call.
    assert.deepEqual(cells, ['acme/m-1', 'image', '1', '1.5 s', '1.5 s', '1.5 s', '100.0%', '—']);
    await latency.locator('tr[data-provider="offline"]').first().waitFor();
    // The phase chart links to it.
    await page.getByRole('link', { name: 'Provider latency →' }).click();
    // The calls list: Alice's, with a link to the story.
    const calls = page.locator('#analytics-calls');
    const acmeCall = calls.locator('tr.call', { hasText: 'acme' });
    await acmeCall.waitFor();
    assert.equal(await acmeCall.getByRole('link').getAttribute('href'), `#/w/${workflowId}`);
    assert.equal(await calls.locator('tr.call', { hasText: 'bobs-provider' }).count(), 0);
    assert.equal(await latency.locator('tr[data-provider="bobs-provider"]').count(), 0);
  });
});
