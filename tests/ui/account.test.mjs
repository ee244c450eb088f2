// Browser tests of the account page (budget, storage and quota, sessions, password) and
// sign-up by invitation: playwright-core drives
// Debian's Chromium against a real `storyloom serve` with its own temporary data directory
// (harness.mjs; a server of its own).
//
//   STORYLOOM_BINARY=build/storyloom node --test tests/ui/account.test.mjs
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, SLOW } from './harness.mjs';

const PASSWORDS = { carol: 'carol-password-1', root: 'root-password-1' };

const harness = new Harness('storyloom-ui-account-');
let baseUrl;
let page;

// A sign-in from another "browser" (outside Chromium): its session cookie.
async function otherBrowser(user, password) {
  const r = await fetch(`${baseUrl}/api/v1/auth/login`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: user, password }),
  });
  assert.equal(r.status, 200, `sign-in of ${user} failed: ${r.status}`);
  const m = /sl_session=([^;]+)/.exec(r.headers.get('set-cookie') || '');
  assert.ok(m, 'no session cookie');
  return m[1];
}

async function meWith(session) {
  const r = await fetch(`${baseUrl}/api/v1/me`, { headers: { Cookie: `sl_session=${session}` } });
  return r.status;
}

async function signIn(user, password = PASSWORDS[user]) {
  await page.goto(`${baseUrl}/#/login`);
  await page.getByLabel('Username').fill(user);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
}

async function signOut() {
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await page.getByRole('heading', { name: 'Sign in to Storyloom' }).waitFor();
}

async function openAccount() {
  await page.getByRole('link', { name: 'Account', exact: true }).click();
  await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
  await page.locator('#sessions-table').waitFor();
}

before(async () => {
  harness.setUp();
  harness.cli(['users', 'add', 'carol', '--password-stdin'], PASSWORDS.carol + '\n');
  harness.cli(['users', 'add', 'root', '--admin', '--password-stdin'], PASSWORDS.root + '\n');
  harness.cli(['users', 'quota', 'carol', '2G']);
  baseUrl = await harness.startServer(['--workers', '0']);
  page = await harness.openBrowser();
});

afterEach(() => harness.assertNoPageErrors());

after(() => harness.close());

describe('Your account in a browser', { concurrency: 1 }, () => {
  it('lists sessions, ends another browser, shows the budget', { timeout: SLOW }, async () => {
    const elsewhere = await otherBrowser('carol', PASSWORDS.carol);
    await signIn('carol');
    await openAccount();
    const rows = page.locator('#sessions-table tbody tr');
    assert.equal(await rows.count(), 2);
    assert.equal(await page.locator('#sessions-table tr[data-current="true"]').count(), 1);
    await page.locator('#my-budget').getByText('Spent').waitFor();
    await page.locator('#my-budget').getByText('No limit').waitFor();
    // Storage: what carol's files use, and the quota `storyloom users quota` gave her.
    await page.locator('#my-storage').getByText('Used', { exact: true }).waitFor();
    const stat = (name) => page.locator('#my-storage .stat').filter({ hasText: name }).locator('dd');
    assert.equal(await stat('Quota').textContent(), '2.0 GB');
    assert.equal(await stat('Files').textContent(), '0');

    await page.locator('#sessions-table tr[data-current="false"]').getByRole('button', { name: 'End' }).click();
    await page.locator('dialog').getByRole('button', { name: 'End session' }).click();
    await page.getByText('Session ended.').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#sessions-table tbody tr').length === 1);
    assert.equal(await meWith(elsewhere), 401, 'the ended session is refused');
  });

  it('changes the password: a wrong one is refused, other sessions end, this one stays', { timeout: SLOW }, async () => {
    const elsewhere = await otherBrowser('carol', PASSWORDS.carol);
    await page.reload();
    await page.locator('#sessions-table').waitFor();
    const form = page.locator('#password-form');
    await form.getByLabel('Current password').fill('not-my-password');
    await form.getByLabel('New password', { exact: true }).fill('carol-password-2');
    await form.getByLabel('New password again').fill('carol-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await form.getByText('That is not your current password.').waitFor();
    assert.equal(await meWith(elsewhere), 200);

    await form.getByLabel('Current password').fill(PASSWORDS.carol);
    await form.getByLabel('New password', { exact: true }).fill('carol-password-2');
    await form.getByLabel('New password again').fill('carol-password-2');
    await form.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed. 1 other session was signed out.').waitFor();
    assert.equal(await meWith(elsewhere), 401, 'the other browser is signed out');
    // This browser stays signed in, and the list shows only it.
    await page.waitForFunction(() => document.querySelectorAll('#sessions-table tbody tr').length === 1);
    await page.reload();
    await page.getByRole('heading', { name: 'Your account', level: 1 }).waitFor();
    await signOut();
    await page.getByLabel('Username').fill('carol');
    await page.getByLabel('Password').fill(PASSWORDS.carol);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That username and password do not match').waitFor();
    await signIn('carol', 'carol-password-2');
    await signOut();
  });

  it('signs up through an invite link an administrator made, once', { timeout: SLOW }, async () => {
    await signIn('root');
    await page.goto(`${baseUrl}/#/admin/users`);
    const invites = page.locator('#invites');
    await invites.getByText('No pending invites.').waitFor();
    await invites.getByRole('button', { name: 'Create invite link' }).click();
    const link = await invites.getByLabel('Invite link').inputValue();
    assert.match(link, /\/#\/signup\?invite=sli_/);
    await page.locator('#invites-table tbody tr').first().waitFor();
    await signOut();

    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Storyloom' }).waitFor();
    await page.getByLabel('Choose a username').fill('dave');
    await page.getByLabel('Choose a password').fill('dave-password-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByRole('heading', { name: 'Stories', level: 1 }).waitFor();
    assert.equal(await page.locator('#who').textContent(), 'dave');
    await signOut();

    // The same link a second time: refused, with what to do.
    await page.goto(link);
    await page.getByRole('heading', { name: 'Join Storyloom' }).waitFor();
    await page.getByLabel('Choose a username').fill('mallory');
    await page.getByLabel('Choose a password').fill('mallory-password-1');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.getByText('This invite link was already used.').waitFor();
  });
});
