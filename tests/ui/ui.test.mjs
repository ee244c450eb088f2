// Browser tests for the Storyloom web UI: playwright-core drives Debian's Chromium
// (/usr/bin/chromium, headless, a fresh profile) against a real `storyloom serve` on a
// loopback port with its own temporary data directory (harness.mjs).
//
//   STORYLOOM_BINARY=build/storyloom node --test tests/ui/
//   STORYLOOM_SCREENSHOTS=docs/screenshots ...   also saves screenshots of the main pages
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Harness, SLOW } from './harness.mjs';

const SHOTS = process.env.STORYLOOM_SCREENSHOTS || '';
const PASSWORDS = { alice: 'alice-password-1', root: 'root-password-1' };

const harness = new Harness('storyloom-ui-');
let baseUrl;
let page;

async function shot(name, opts = {}) {
  if (!SHOTS) return;
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, `${name}.png`);
  await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
  await page.screenshot({ path: file, ...opts });
  const size = fs.statSync(file).size;
  assert.ok(size < 500 * 1024, `${file} is ${size} bytes; keep screenshots under 500 KB`);
}

async function signIn(user) {
  await page.goto(`${baseUrl}/#/login`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(PASSWORDS[user]);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('heading', { name: 'Sign in to Storyloom' }).waitFor();
}

// A JSON call made from inside the page, with the session cookie and CSRF header, as the
// app itself does.
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
  harness.cli(['users', 'add', 'alice', '--password-stdin'], PASSWORDS.alice + '\n');
  harness.cli(['users', 'add', 'root', '--admin', '--password-stdin'], PASSWORDS.root + '\n');
  baseUrl = await harness.startServer(['--workers', '2']);
  page = await harness.openBrowser(['--autoplay-policy=no-user-gesture-required'],
    { deviceScaleFactor: 1, colorScheme: 'light' });
});

afterEach(() => harness.assertNoPageErrors());

after(() => harness.close());

describe('Storyloom in a browser', { concurrency: 1 }, () => {
  let workflowId;

  it('asks for a sign-in, refuses a wrong password, then signs in', async () => {
    await page.goto(`${baseUrl}/`);
    await page.getByRole('heading', { name: 'Sign in to Storyloom' }).waitFor();
    await shot('sign-in');
    await page.getByLabel('Username').fill('alice');
    await page.getByLabel('Password').fill('not-the-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That username and password do not match').waitFor();
    await signIn('alice');
    await page.getByText('No stories yet').waitFor();
    assert.equal(await page.locator('[data-nav="admin"]').isVisible(), false, 'a user sees no Admin link');
  });

  it('creates a two-scene story and watches it finish live', { timeout: SLOW }, async () => {
    await page.locator('[data-nav="new"]').click();
    await page.getByLabel('What is your story about?').waitFor();
    // Record every value the progress bar takes, from the first render on, and mark the
    // document so a reload would be noticed.
    await page.evaluate(() => {
      window.__marker = 'no-reload';
      window.__progress = [];
      new MutationObserver((list) => {
        for (const m of list) {
          const el = m.target;
          if (el.getAttribute && el.getAttribute('role') === 'progressbar' && el.closest('.progress-card')) {
            window.__progress.push(Number(el.getAttribute('aria-valuenow')));
          }
        }
      }).observe(document.body, { subtree: true, attributes: true, attributeFilter: ['aria-valuenow'] });
    });
    await page.getByLabel('What is your story about?').fill('A lighthouse keeper who befriends a lost whale');
    await page.getByLabel('Title').fill('The Keeper and the Whale');
    await page.getByLabel('Scenes').fill('2');
    await page.getByLabel('Visual style').fill('Storybook watercolor');
    await shot('new-story');
    await page.getByRole('button', { name: 'Create storyboard' }).click();
    await page.waitForURL(/#\/w\/[0-9a-f-]+$/);
    workflowId = page.url().split('/w/')[1];
    await page.getByRole('heading', { name: 'The Keeper and the Whale' }).waitFor();
    await page.locator('article.workflow[data-status="completed"]').waitFor({ timeout: SLOW - 10_000 });
    const seen = await page.evaluate(() => window.__progress);
    const marker = await page.evaluate(() => window.__marker);
    assert.equal(marker, 'no-reload', 'the page was not reloaded');
    assert.equal(await page.locator('.progress-card [role="progressbar"]').getAttribute('aria-valuenow'), '100');
    assert.ok(seen.length >= 1 && seen[seen.length - 1] === 100, `progress ended at 100: ${seen}`);
    assert.ok(seen.some((v) => v < 100), `progress moved while we watched: ${seen}`);
    await page.locator('.scene img.scene-img').nth(1).waitFor();
    assert.equal(await page.locator('.scene').count(), 2);
    assert.ok((await page.locator('.timeline li').count()) >= 5, 'the timeline lists the phases');
    assert.match(await page.locator('#wf-status').innerText(), /Completed/);
  });

  it('opens a scene picture at full size and plays its narration', { timeout: SLOW }, async () => {
    const thumb = page.locator('.scene img.scene-img').first();
    await thumb.scrollIntoViewIfNeeded();
    await page.waitForFunction(() => {
      const img = document.querySelector('.scene img.scene-img');
      return img && img.complete && img.naturalWidth > 0;
    });
    await page.evaluate(() => window.scrollTo(0, 0));
    await shot('story');
    await page.getByRole('button', { name: 'Enlarge the picture for scene 1' }).click();
    const big = page.locator('dialog.lightbox img');
    await big.waitFor();
    await page.waitForFunction(() => document.querySelector('dialog.lightbox img').complete);
    assert.equal(await big.evaluate((img) => img.naturalWidth), 1280);
    assert.equal(await big.evaluate((img) => img.naturalHeight), 720);
    await shot('scene-picture');
    await page.keyboard.press('Escape');
    await page.locator('dialog.lightbox').waitFor({ state: 'hidden' });

    const audio = page.locator('.scene audio').first();
    await audio.scrollIntoViewIfNeeded();
    const state = await audio.evaluate(async (a) => {
      a.muted = true;
      try {
        await a.play();
      } catch (e) {
        return { error: e.message };
      }
      await new Promise((r) => setTimeout(r, 400));
      return { readyState: a.readyState, duration: a.duration, time: a.currentTime, paused: a.paused, error: a.error && a.error.code };
    });
    assert.ok(!state.error, `audio plays: ${JSON.stringify(state)}`);
    assert.ok(state.readyState >= 2, `audio has data: ${JSON.stringify(state)}`);
    assert.ok(state.duration > 0, `audio has a duration: ${JSON.stringify(state)}`);
    await audio.evaluate((a) => a.pause());
  });

  it('plays the story video with its subtitles, and offers it for download', { timeout: SLOW }, async () => {
    const video = page.locator('video.story-video');
    await video.scrollIntoViewIfNeeded();
    assert.match(decodeURIComponent(await video.getAttribute('poster')), /^\/files\/.+\/video\/poster\.jpg$/);
    const state = await video.evaluate(async (v) => {
      const track = v.textTracks[0];
      if (track) track.mode = 'showing';
      v.muted = true;
      try {
        await v.play();
      } catch (e) {
        return { error: e.message, canPlay: v.canPlayType('video/mp4; codecs="avc1.64001f, mp4a.40.2"') };
      }
      const t0 = v.currentTime;
      await new Promise((r) => setTimeout(r, 1500));
      // The cues arrive with the track's own request.
      for (let i = 0; i < 50 && !(track && track.cues && track.cues.length); i++) {
        await new Promise((r) => setTimeout(r, 100));
      }
      v.pause();
      return {
        t0, t1: v.currentTime, duration: v.duration, width: v.videoWidth, height: v.videoHeight,
        cues: track && track.cues ? track.cues.length : -1, kind: track && track.kind,
        firstCue: track && track.cues && track.cues[0] ? track.cues[0].text : '',
        error: v.error && v.error.code,
      };
    });
    assert.ok(!state.error, `the video plays: ${JSON.stringify(state)}`);
    assert.ok(state.t1 > state.t0, `currentTime advances: ${JSON.stringify(state)}`);
    assert.equal(state.width, 1280);
    assert.equal(state.height, 720);
    assert.ok(state.duration > 3, `a title card and two scenes: ${JSON.stringify(state)}`);
    assert.equal(state.kind, 'subtitles');
    assert.ok(state.cues >= 2, `the subtitle cues load: ${JSON.stringify(state)}`);
    assert.ok(state.firstCue.length > 0);
    const link = page.getByRole('link', { name: 'Download video' });
    const href = await link.getAttribute('href');
    assert.match(decodeURIComponent(href), /^\/files\/.+\/video\/story\.mp4\?download=1$/);
    const r = await page.request.get(`${baseUrl}${href}`);
    assert.equal(r.status(), 200);
    assert.equal(r.headers()['content-type'], 'video/mp4');
    assert.match(r.headers()['content-disposition'] || '', /attachment/);
    await page.evaluate(() => {
      document.querySelector('.video-card').scrollIntoView({ block: 'start' });
      window.scrollBy(0, -72); // below the sticky header
    });
    await shot('story-video');
  });

  it('lists the files with metadata and working download links', async () => {
    const rows = page.locator('.files-table tbody tr');
    assert.ok((await rows.count()) >= 5, 'story, 2 images, 2 narrations and the storyboard');
    const link = page.locator('.files-table a', { hasText: 'Download' }).first();
    const href = await link.getAttribute('href');
    assert.match(href, /^\/files\/.+\?download=1$/);
    const r = await page.request.get(`${baseUrl}${href}`);
    assert.equal(r.status(), 200);
    assert.match(r.headers()['content-disposition'] || '', /attachment/);
    // The whole story as one zip, fetched with the page's session.
    const zipHref = await page.getByRole('link', { name: 'Download all (zip)' }).getAttribute('href');
    assert.equal(zipHref, `/api/v1/workflows/${workflowId}/archive`);
    const zip = await page.request.get(`${baseUrl}${zipHref}`);
    assert.equal(zip.status(), 200);
    assert.equal(zip.headers()['content-type'], 'application/zip');
    assert.match(zip.headers()['content-disposition'] || '', /^attachment; filename=".+\.zip"$/);
    assert.equal((await zip.body()).subarray(0, 4).toString('latin1'), 'PK\x03\x04');
    await page.locator('.files-table details summary').first().click();
    assert.ok(await page.locator('.files-table dl.meta dt').first().isVisible());
    await page.locator('#scenes-h').scrollIntoViewIfNeeded();
    await page.evaluate(() => document.getElementById('scenes-h').scrollIntoView({ block: 'start' }));
    await shot('story-scenes');
  });

  it('deletes one file from the story page', async () => {
    const rows = page.locator('.files-table tbody tr');
    const before = await rows.count();
    const row = rows.filter({ hasText: 'storyboard.json' });
    const href = await row.locator('a', { hasText: 'Download' }).getAttribute('href');
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.locator('dialog').getByRole('button', { name: 'Delete file' }).click();
    await page.getByText('storyboard.json deleted.').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('.files-table tbody tr').length === n, before - 1);
    assert.equal(await rows.filter({ hasText: 'storyboard.json' }).count(), 0);
    const gone = await page.request.get(`${baseUrl}${href}`);
    assert.equal(gone.status(), 404, 'the deleted file is still served');
  });

  it('updates the story list live, searches and filters', { timeout: SLOW }, async () => {
    await page.locator('[data-nav="stories"]').click();
    await page.locator(`.wf-row[data-id="${workflowId}"]`).waitFor();
    // The finished story shows its video's poster.
    await page.waitForFunction((id) => {
      const img = document.querySelector(`.wf-row[data-id="${id}"] .wf-thumb img`);
      return img && img.complete && img.naturalWidth === 1280;
    }, workflowId);
    await page.evaluate(() => (window.__marker = 'list'));
    const created = await apiFromPage('POST', '/api/v1/workflows',
      { prompt: 'Two foxes open a bakery in the snow', title: 'Snow Bakery', options: { scenes: 2, narration: true } });
    assert.equal(created.status, 201);
    // The list was loaded before this story existed: search again (no page reload), then
    // watch the new row move on its own until it is completed.
    await page.evaluate((id) => {
      window.__rowStates = [];
      new MutationObserver(() => {
        const row = document.querySelector(`.wf-row[data-id="${id}"]`);
        if (!row) return;
        const state = `${row.dataset.status}:${row.querySelector('[role="progressbar"]').getAttribute('aria-valuenow')}`;
        if (window.__rowStates[window.__rowStates.length - 1] !== state) window.__rowStates.push(state);
      }).observe(document.getElementById('main'), { subtree: true, childList: true, attributes: true });
    }, created.body.id);
    await page.getByRole('button', { name: 'Search' }).click();
    const row = page.locator(`.wf-row[data-id="${created.body.id}"]`);
    await row.waitFor();
    await page.locator(`.wf-row[data-id="${created.body.id}"][data-status="completed"]`).waitFor({ timeout: SLOW - 20_000 });
    assert.equal(await page.evaluate(() => window.__marker), 'list', 'no page reload');
    const states = await page.evaluate(() => window.__rowStates);
    assert.ok(states.length >= 3 && !states[0].startsWith('completed'), `the row changed live: ${states}`);
    assert.equal(await row.locator('[role="progressbar"]').getAttribute('aria-valuenow'), '100');
    await shot('stories');

    await page.locator('#q').fill('bakery');
    await page.getByRole('button', { name: 'Search' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.wf-row').length === 1);
    assert.match(await page.locator('.wf-row').innerText(), /Snow Bakery/);
    await page.locator('#q').fill('');
    await page.locator('#status').selectOption('failed');
    await page.getByText('No stories match').waitFor();
    await page.getByRole('link', { name: 'Clear filters' }).click();
    await page.waitForFunction(() => document.querySelectorAll('.wf-row').length === 2);
  });

  it('draws the analytics dashboard from real data', { timeout: SLOW }, async () => {
    await page.locator('[data-nav="analytics"]').click();
    await page.locator('.chart-svg').first().waitFor();
    const perDay = page.getByRole('img', { name: /Stories per day by status/ });
    await perDay.waitFor();
    assert.ok(Number(await perDay.getAttribute('data-points')) >= 1, 'stories-per-day has data');
    assert.ok((await perDay.locator('rect.bar').count()) >= 1, 'stories-per-day has bars');
    const cost = page.getByRole('img', { name: /per day by model/ });
    assert.ok(Number(await cost.getAttribute('data-points')) >= 1, 'the per-day-by-model chart has data');
    const phases = page.getByRole('img', { name: /Phase durations/ });
    assert.ok(Number(await phases.getAttribute('data-points')) >= 3, 'phase durations has the phases');
    assert.equal(await page.getByText('Top users').count(), 0, 'users do not see top users');
    assert.match(await page.locator('.kpi').first().innerText(), /Stories\s+2/i);
    await shot('analytics', { fullPage: true });
  });

  it('keeps a non-admin out of the admin pages', async () => {
    for (const sub of ['', '/users', '/tokens', '/operations', '/database']) {
      await page.goto(`${baseUrl}/#/admin${sub}`);
      await page.getByRole('heading', { name: 'This page needs an administrator' }).waitFor();
      assert.equal(await page.locator('#users-table').count(), 0);
    }
    await shot('needs-admin');
    const r = await page.request.get(`${baseUrl}/api/v1/users`);
    assert.ok(r.status() === 403 || r.status() === 404, `GET /api/v1/users as a user: ${r.status()}`);
  });

  it('signs out, and then nothing is open without signing in', async () => {
    await page.goto(`${baseUrl}/#/`);
    await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
    await signOut();
    assert.equal((await page.request.get(`${baseUrl}/api/v1/me`)).status(), 401);
    await page.goto(`${baseUrl}/#/w/${workflowId}`);
    await page.getByRole('heading', { name: 'Sign in to Storyloom' }).waitFor();
  });

  it('lets an administrator manage users and tokens and see top users', { timeout: SLOW }, async () => {
    await signIn('root');
    assert.ok(await page.locator('[data-nav="admin"]').isVisible());
    await page.locator('[data-nav="admin"]').click();
    const table = page.locator('#users-table');
    await table.waitFor();
    await table.locator('tr[data-user="alice"]').waitFor();
    await shot('admin-users');
    await page.getByRole('link', { name: 'API tokens' }).click();
    await page.getByRole('heading', { name: 'Create a token' }).waitFor();
    await page.getByLabel('Name').fill('render farm');
    await page.getByRole('button', { name: 'Create token' }).click();
    const secret = page.locator('input.secret');
    await secret.waitFor();
    assert.ok((await secret.inputValue()).length >= 20, 'the new token is shown once');
    await page.getByRole('link', { name: 'Backups & cleanup' }).click();
    await page.getByRole('heading', { name: 'Cleanup' }).waitFor();
    await page.getByRole('button', { name: /Preview cleanup/ }).click();
    await page.locator('#cleanup-result :is(.alert, dl, p:not(.loading))').first().waitFor();
    await shot('admin-operations');
    // The database's health, and a check whose result stays after a reload.
    await page.getByRole('link', { name: 'Database', exact: true }).click();
    await page.getByRole('heading', { name: 'Database', exact: true }).waitFor();
    assert.match(await page.locator('[data-stat="size"]').innerText(), /\d/);
    assert.equal(await page.locator('[data-stat="quick-check"]').innerText(), 'ok');
    assert.match(await page.locator('#db-last-check').innerText(), /No check has run yet/);
    await page.getByRole('button', { name: 'Check now' }).click();
    await page.locator('#db-last-check .badge', { hasText: 'clean' }).waitFor();
    await page.reload();
    await page.locator('#db-last-check .badge', { hasText: 'clean' }).waitFor();
    assert.match(await page.locator('#db-last-check').innerText(), /from the browser/);
    await shot('admin-database');
    await page.locator('[data-nav="analytics"]').click();
    await page.getByRole('img', { name: /Top users/ }).waitFor();
    assert.match(await page.getByRole('img', { name: /Top users/ }).getAttribute('aria-label'), /alice/);
    await signOut();
  });
});
