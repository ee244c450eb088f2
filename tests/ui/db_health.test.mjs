// Browser test of the admin Database tab on PostgreSQL (ui.test.mjs covers it on SQLite): the
// server runs on a database of its own on the throwaway PostgreSQL server of scripts/test-pg;
// the tab shows the tables with their sizes and dead rows, the connections against
// max_connections and no long transaction, and its check runs amcheck on every index.
//
//   STORYLOOM_BINARY=build/storyloom node --test tests/ui/
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Harness, SLOW } from './harness.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'root-password-1';

const harness = new Harness('storyloom-ui-dbhealth-');
let pgState;
let adminUrl;
let dbUrl;
let dbName;
let baseUrl;
let page;

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 120_000, env: { ...process.env, TEST_PG_OWNER: String(process.pid) } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} failed: ${r.error || ''}\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

before(async () => {
  harness.setUp();
  pgState = path.join(harness.tmp, 'pg');
  fs.mkdirSync(pgState);
  adminUrl = run(path.join(ROOT, 'scripts/test-pg'), ['start', pgState]).trim().split('\n').pop();
  dbName = `ui_health_${process.pid}`;
  run('psql', [adminUrl, '-qc', `CREATE DATABASE ${dbName}`]);
  dbUrl = adminUrl.replace(/\/[^/]*$/, `/${dbName}`);
  harness.cli(['--database', dbUrl, 'db', 'migrate']);
  harness.cli(['--database', dbUrl, 'users', 'add', 'root', '--admin', '--password-stdin'], PASSWORD + '\n');
  baseUrl = await harness.startServer(['--workers', '1', '--database', dbUrl]);
  page = await harness.openBrowser();
});

afterEach(() => harness.assertNoPageErrors());

after(async () => {
  try {
    await harness.close();
  } finally {
    if (adminUrl) spawnSync('psql', [adminUrl, '-qc', `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`]);
    if (pgState) spawnSync(path.join(ROOT, 'scripts/test-pg'), ['stop', pgState], { env: { ...process.env, TEST_PG_OWNER: String(process.pid) } });
  }
});

describe('The database health tab on PostgreSQL', { concurrency: 1 }, () => {
  it('shows the tables, the connections and runs amcheck', { timeout: SLOW }, async () => {
    await page.goto(`${baseUrl}/#/login`);
    await page.getByLabel('Username').fill('root');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
    await page.goto(`${baseUrl}/#/admin/database`);
    await page.getByRole('heading', { name: 'Tables', exact: true }).waitFor();
    assert.match(await page.locator('#db-health').innerText(), /PostgreSQL 15/);
    const workflows = page.locator('#db-tables tr', { has: page.locator('code', { hasText: /^workflows$/ }) });
    await workflows.waitFor();
    const cells = await workflows.locator('td').allInnerTexts();
    assert.match(cells[3], /KB|MB/, `the workflows table's indexes have a size: ${cells}`);
    assert.match(await page.locator('[data-stat="connections"]').innerText(), /^\d+ of \d+$/);
    assert.match(await page.locator('[data-stat="dead-rows"]').innerText(), /^\d/);
    await page.locator('#db-no-long-transactions').waitFor();
    await page.getByRole('button', { name: 'Check now' }).click();
    await page.locator('#db-last-check .badge', { hasText: 'clean' }).waitFor();
    assert.match(await page.locator('#db-last-check').innerText(), /amcheck checked \d+ indexes/);
    await page.reload();
    await page.locator('#db-last-check .badge', { hasText: 'clean' }).waitFor();
    if (process.env.STORYLOOM_SCREENSHOTS) {
      await page.evaluate(() => document.querySelectorAll('.toast').forEach((t) => t.remove()));
      await page.screenshot({ path: path.join(process.env.STORYLOOM_SCREENSHOTS, 'admin-database-postgresql.png'), fullPage: true });
    }
  });
});
