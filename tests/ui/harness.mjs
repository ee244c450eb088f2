// The set-up every browser test file shares: a real `storyloom serve` on a loopback port with
// its own temporary data directory, the CLI on that data, and Debian's Chromium (headless, a
// fresh profile) driven by playwright-core. Closing checks what a user would never see but
// must not happen: the server not stopping on SIGTERM, a non-zero exit, a sanitizer report
// in its log, or an uncaught JavaScript error in the page.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

export const BINARY = process.env.STORYLOOM_BINARY;
export const CHROMIUM = process.env.STORYLOOM_CHROMIUM || '/usr/bin/chromium';
// The ASan build is several times slower than a release build.
export const SLOW = 180_000;
const STOP_GRACE_MS = 20_000;

// What the sanitizer runtimes print first (tests/support/sanitizer_report.cc has the same list).
const SANITIZER_MARKERS = ['ERROR: AddressSanitizer', 'ERROR: LeakSanitizer', 'WARNING: ThreadSanitizer',
  'ERROR: ThreadSanitizer', 'runtime error:', 'SUMMARY: UndefinedBehaviorSanitizer'];

export function sanitizerReport(text) {
  const at = Math.min(...SANITIZER_MARKERS.map((m) => text.indexOf(m)).filter((i) => i >= 0));
  return Number.isFinite(at) ? text.slice(text.lastIndexOf('\n', at) + 1).split('\n').slice(0, 60).join('\n') : '';
}

export class Harness {
  // `prefix`: the temporary directory's name, e.g. 'storyloom-ui-calls-'.
  constructor(prefix) {
    this.prefix = prefix;
    this.pageErrors = [];
  }

  // Makes the temporary data directory; call first, in before().
  setUp() {
    assert.ok(BINARY, 'set STORYLOOM_BINARY to the storyloom binary');
    assert.ok(fs.existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/install-deps (Debian package chromium)`);
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), this.prefix));
    this.dataDir = path.join(this.tmp, 'data');
  }

  // Runs `storyloom --data-dir <tmp>/data ARGS` and returns its stdout; a failure fails the test.
  cli(args, input) {
    const r = spawnSync(BINARY, ['--data-dir', this.dataDir, ...args], {
      input, encoding: 'utf8', env: { ...process.env, STORYLOOM_ACCESS_LOG: 'false' }, timeout: 120_000,
    });
    assert.equal(r.status, 0, `storyloom ${args.join(' ')} failed: ${r.error || ''}\n${r.stdout}\n${r.stderr}`);
    return r.stdout;
  }

  // Starts `storyloom serve --port 0 ARGS` and returns its base URL. The server binds port 0
  // and prints its address: it is read from the log (no free-port race), then /healthz.
  async startServer(args = ['--workers', '2']) {
    this.serverLog = path.join(this.tmp, 'server.log');
    const log = fs.openSync(this.serverLog, 'a');
    this.server = spawn(BINARY, ['--data-dir', this.dataDir, 'serve', '--port', '0', ...args],
      { stdio: ['ignore', log, log], env: { ...process.env, STORYLOOM_ACCESS_LOG: 'false' } });
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      const text = fs.readFileSync(this.serverLog, 'utf8');
      if (this.server.exitCode !== null) throw new Error(`storyloom serve exited:\n${text}`);
      const m = /Storyloom is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) {
        try {
          const r = await fetch(`${m[1]}/healthz`);
          if (r.ok) {
            this.baseUrl = m[1];
            return this.baseUrl;
          }
        } catch { /* not answering yet */ }
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`storyloom serve did not become healthy:\n${fs.readFileSync(this.serverLog, 'utf8')}`);
  }

  // Launches Chromium with a fresh profile and returns its page; `extraArgs` are added to
  // Chromium's command line and `options` to playwright's context options.
  async openBrowser(extraArgs = [], options = {}) {
    this.context = await chromium.launchPersistentContext(path.join(this.tmp, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
      viewport: { width: 1280, height: 860 },
      ...options,
    });
    this.context.setDefaultTimeout(30_000);
    this.page = this.context.pages()[0] || await this.context.newPage();
    this.page.on('pageerror', (e) => this.pageErrors.push(e.message));
    return this.page;
  }

  // For afterEach(): uncaught exceptions and unhandled rejections in the page fail the test.
  assertNoPageErrors() {
    const errors = this.pageErrors.splice(0);
    assert.deepEqual(errors, [], `JavaScript errors in the page:\n${errors.join('\n')}`);
  }

  // For after(): closes the browser; the server must stop by itself within the grace period
  // after SIGTERM, exit 0 and have printed no sanitizer report. The temporary directory is
  // removed when all is well (kept with STORYLOOM_KEEP_TMP set).
  async close() {
    await this.context?.close().catch(() => {});
    const problems = [];
    const server = this.server;
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
    const log = this.serverLog && fs.existsSync(this.serverLog) ? fs.readFileSync(this.serverLog, 'utf8') : '';
    const report = sanitizerReport(log);
    if (report) problems.push(`storyloom serve printed a sanitizer report:\n${report}`);
    if (this.tmp && !process.env.STORYLOOM_KEEP_TMP && problems.length === 0) {
      fs.rmSync(this.tmp, { recursive: true, force: true });
    }
    assert.deepEqual(problems, [], problems.join('\n'));
  }
}
