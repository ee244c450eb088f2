// Browser tests of the provider calls (issue 16, parts 1 and 2): a story's page lists its
// calls (retries, failures and unpriced ones included), and the analytics page shows the
// provider latency beside the phase durations and the caller's own calls only. Debian's
// Chromium through playwright-core against a real `storyloom serve` with its own data
// directory, as ui.test.mjs does.
//
//   STORYLOOM_BINARY=build/storyloom node --test tests/ui/
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, SLOW } from './harness.mjs';

const PASSWORD = 'alice-password-1';

const harness = new Harness('storyloom-ui-calls-');
let baseUrl;
let page;
let bobToken;

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
  harness.setUp();
  harness.cli(['users', 'add', 'alice', '--password-stdin'], PASSWORD + '\n');
  harness.cli(['users', 'add', 'bob', '--password-stdin'], 'bob-password-1\n');
  bobToken = /slt_[A-Za-z0-9_-]+/.exec(harness.cli(['tokens', 'create', 'bob']))[0];
  baseUrl = await harness.startServer(['--workers', '1']);
  page = await harness.openBrowser();
});

afterEach(() => harness.assertNoPageErrors());

after(() => harness.close());

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
