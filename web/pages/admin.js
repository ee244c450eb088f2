// Administration: users, API tokens, backups and a cleanup dry run, the database's health, and the
// audit log.
// Only administrators see the link; anyone else who comes here is told it needs one.
import { del, get, patch, post, qs } from '../api.js';
import {
  clear, confirmDialog, emptyState, errorBox, fmtBytes, fmtDate, fmtNumber, fmtRelative, fmtUsd, h, notice,
  pageHeader, toast, field, setFieldError, clearFieldErrors,
} from '../ui.js';

const TABS = [
  ['users', 'Users'],
  ['tokens', 'API tokens'],
  ['operations', 'Backups & cleanup'],
  ['database', 'Database'],
  ['audit', 'Audit log'],
];

export async function render(main, ctx) {
  if (ctx.user.role !== 'admin') {
    main.append(h('div', { class: 'empty', id: 'needs-admin' },
      h('div', { class: 'empty-art lock', 'aria-hidden': 'true' }),
      h('h1', { class: 'empty-title' }, 'This page needs an administrator'),
      h('p', null, 'Managing users, tokens, backups and cleanup is only open to administrators. Ask an administrator of this server if you need something changed.'),
      h('a', { class: 'btn btn-primary', href: '#/' }, 'Back to your stories')));
    return;
  }
  const tab = ctx.params[0] || 'users';
  main.append(pageHeader('Admin', 'People, access and the health of this server.'),
    h('nav', { class: 'tabs', 'aria-label': 'Admin sections' },
      TABS.map(([id, label]) => h('a', { href: `#/admin/${id}`, class: 'tab', 'aria-current': id === tab ? 'page' : undefined }, label))));
  const body = h('div', { class: 'tab-body' });
  main.append(body);
  const pages = { users: usersTab, tokens: tokensTab, operations: operationsTab, database: databaseTab, audit: auditTab };
  await pages[tab](body, ctx);
}

// An endpoint this server does not have yet reads as a plain sentence, not an error.
function unavailable(what) {
  return notice(`${what} is not available on this server yet. Update Storyloom to use it.`, 'info');
}

async function load(host, path, what) {
  try {
    return await get(path);
  } catch (e) {
    host.append(e.status === 404 ? unavailable(what) : errorBox(e));
    return null;
  }
}

// ---- users -------------------------------------------------------------------------------------

async function usersTab(body, ctx) {
  const data = await load(body, '/api/v1/users', 'User management');
  if (!data) return;
  const tableHost = h('div', { class: 'card' });
  const created = h('div');
  const username = h('input', { name: 'username', autocomplete: 'off', required: true });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', minlength: '8' });
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'off' });
  const role = h('select', { name: 'role' }, h('option', { value: 'user' }, 'User'), h('option', { value: 'admin' }, 'Administrator'));
  const budget = h('input', { name: 'monthly_budget_usd', type: 'number', min: '0', step: '0.01', inputmode: 'decimal' });
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card stack', novalidate: true },
    h('h2', null, 'Add a user'),
    h('div', { class: 'row-3' },
      field('Username', username),
      field('Password', password, { hint: 'Leave empty to generate one.' }),
      field('Role', role)),
    h('div', { class: 'row-3' },
      field('Email (optional)', email),
      field('Monthly budget, USD (optional)', budget)),
    formError,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Add user')),
    created);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    if (!username.value.trim()) {
      setFieldError(form, 'username', 'Choose a username.');
      return;
    }
    const payload = { username: username.value.trim(), role: role.value };
    if (password.value) payload.password = password.value;
    if (email.value.trim()) payload.email = email.value.trim();
    if (budget.value !== '') payload.monthly_budget_usd = budget.value;
    try {
      const u = await post('/api/v1/users', payload);
      clear(created);
      if (u.password) {
        created.append(secretBox(`Password for ${u.username}`, u.password, 'Shown only now. Pass it on safely.'));
      }
      toast(`Added ${u.username}.`, 'success');
      form.reset();
      await refresh();
    } catch (err) {
      if (!(err.field && setFieldError(form, err.field, err.message))) {
        formError.textContent = err.message;
        formError.hidden = false;
      }
    }
  });

  async function change(u, changes, message) {
    try {
      await patch(`/api/v1/users/${u.id}`, changes);
      toast(message, 'success');
      await refresh();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  function draw(items) {
    clear(tableHost).append(h('h2', null, `Users (${items.length})`),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'users-table' },
        h('thead', null, h('tr', null, ['Username', 'Role', 'Email', 'Budget / month', 'Status', 'Created', 'Actions'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, items.map((u) => h('tr', { dataset: { user: u.username } },
          h('td', null, h('strong', null, u.username), u.id === ctx.user.id ? h('span', { class: 'muted small' }, ' (you)') : null),
          h('td', null, h('span', { class: `tag ${u.role === 'admin' ? 'tag-accent' : ''}` }, u.role === 'admin' ? 'Administrator' : 'User')),
          h('td', null, u.email || h('span', { class: 'muted' }, '—')),
          h('td', { class: 'num' }, u.monthly_budget_usd ? fmtUsd(u.monthly_budget_usd) : h('span', { class: 'muted' }, 'No limit')),
          h('td', null, u.disabled ? h('span', { class: 'badge badge-failed' }, 'Disabled') : h('span', { class: 'badge badge-completed' }, 'Active')),
          h('td', null, fmtDate(u.created_at)),
          h('td', { class: 'actions' }, u.id === ctx.user.id ? h('span', { class: 'muted small' }, '—') : [
            h('button', { type: 'button', class: 'btn btn-small', onclick: () => change(u, { disabled: !u.disabled }, u.disabled ? `${u.username} can sign in again.` : `${u.username} is disabled.`) },
              u.disabled ? 'Enable' : 'Disable'),
            h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => change(u, { role: u.role === 'admin' ? 'user' : 'admin' }, `${u.username} is now ${u.role === 'admin' ? 'a user' : 'an administrator'}.`) },
              u.role === 'admin' ? 'Make user' : 'Make admin'),
          ])))))));
  }

  async function refresh() {
    const d = await get('/api/v1/users');
    draw(d.items || []);
  }
  draw(data.items || []);
  body.append(tableHost, form, await invitesCard());
}

// One-time sign-up links: whoever opens one picks their own username and password.
async function invitesCard() {
  const card = h('section', { class: 'card stack', id: 'invites', 'aria-labelledby': 'invites-h' });
  const role = h('select', { name: 'role' }, h('option', { value: 'user' }, 'User'), h('option', { value: 'admin' }, 'Administrator'));
  const expires = h('select', { name: 'expires_in' },
    h('option', { value: String(24 * 3600) }, '1 day'),
    h('option', { value: String(7 * 24 * 3600), selected: true }, '7 days'),
    h('option', { value: String(30 * 24 * 3600) }, '30 days'));
  const made = h('div');
  const list = h('div');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'row-3' }, field('Role of the new account', role), field('Link works for', expires)),
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create invite link')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const inv = await post('/api/v1/invites', { role: role.value, expires_in: Number(expires.value) });
      const url = `${location.origin}/#/signup?invite=${encodeURIComponent(inv.token)}`;
      clear(made).append(secretBox('Invite link', url, `Works once, until ${fmtDate(inv.expires_at)}. Shown only now: send it to the person you invite.`));
      await refresh();
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  async function revoke(inv) {
    const ok = await confirmDialog({ title: 'Revoke this invite?', text: 'Its link stops working at once.', confirm: 'Revoke', danger: true });
    if (!ok) return;
    try {
      await del(`/api/v1/invites/${inv.id}`);
      toast('Invite revoked.', 'success');
    } catch (e) {
      toast(e.message, 'error');
    }
    await refresh();
  }
  async function refresh() {
    let items = [];
    try {
      items = (await get('/api/v1/invites')).items || [];
    } catch (e) {
      clear(list).append(e.status === 404 ? unavailable('Invites') : errorBox(e));
      return;
    }
    clear(list).append(items.length === 0 ? h('p', { class: 'muted' }, 'No pending invites.')
      : h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'invites-table' },
        h('thead', null, h('tr', null, ['Role', 'Created', 'Expires', ''].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, items.map((inv) => h('tr', { dataset: { invite: inv.id } },
          h('td', null, inv.role === 'admin' ? 'Administrator' : 'User'),
          h('td', null, fmtDate(inv.created_at)),
          h('td', null, fmtDate(inv.expires_at)),
          h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', onclick: () => revoke(inv) }, 'Revoke'))))))));
  }
  await refresh();
  card.append(h('h2', { id: 'invites-h' }, 'Invite someone'),
    h('p', { class: 'muted' }, 'A one-time link: whoever opens it chooses their own username and password.'),
    form, made, h('h3', null, 'Pending invites'), list);
  return card;
}

function secretBox(label, secret, note) {
  const input = h('input', { class: 'secret', readonly: true, value: secret, 'aria-label': label });
  return h('div', { class: 'alert alert-success secret-box' },
    h('p', null, h('strong', null, label)),
    h('div', { class: 'secret-row' }, input,
      h('button', { type: 'button', class: 'btn btn-small', onclick: async () => {
        input.select();
        try {
          await navigator.clipboard.writeText(secret);
          toast('Copied.', 'success');
        } catch {
          toast('Press Ctrl+C to copy.', 'info');
        }
      } }, 'Copy')),
    h('p', { class: 'small' }, note));
}

// ---- tokens ------------------------------------------------------------------------------------

async function tokensTab(body) {
  const [data, users] = [await load(body, '/api/v1/tokens', 'API tokens'), await get('/api/v1/users').catch(() => null)];
  if (!data) return;
  const names = new Map((users?.items || []).map((u) => [u.id, u.username]));
  const tableHost = h('div', { class: 'card' });
  const created = h('div');
  const name = h('input', { name: 'name', maxlength: '100', placeholder: 'e.g. render farm' });
  const owner = h('select', { name: 'user_id' }, (users?.items || []).map((u) => h('option', { value: u.id }, u.username)));
  const days = h('input', { name: 'expires_in_days', type: 'number', min: '1', max: '3650', placeholder: 'Never' });
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const form = h('form', { class: 'card stack', novalidate: true },
    h('h2', null, 'Create a token'),
    h('p', { class: 'muted' }, 'Programs send it as "Authorization: Bearer <token>".'),
    h('div', { class: 'row-3' }, field('Name', name), field('For user', owner), field('Expires after (days)', days, { hint: 'Empty: never expires.' })),
    formError,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary' }, 'Create token')),
    created);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    const payload = { name: name.value.trim() || 'api' };
    if (owner.value) payload.user_id = owner.value;
    if (days.value) payload.expires_in_days = Number(days.value);
    try {
      const t = await post('/api/v1/tokens', payload);
      clear(created).append(secretBox(`Token "${t.name}" for ${names.get(t.user_id) || 'the user'}`, t.token,
        'Copy it now: it is shown only once and cannot be recovered.'));
      form.reset();
      await refresh();
    } catch (err) {
      if (!(err.field && setFieldError(form, err.field, err.message))) {
        formError.textContent = err.message;
        formError.hidden = false;
      }
    }
  });

  async function revoke(t) {
    const ok = await confirmDialog({ title: `Revoke "${t.name}"?`, text: 'Programs using this token stop working at once.', confirm: 'Revoke', danger: true });
    if (!ok) return;
    try {
      await del(`/api/v1/tokens/${t.id}`);
      toast('Token revoked.', 'success');
      await refresh();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  function draw(items) {
    // Browser sessions are tokens too; they are listed only if the server returns them.
    clear(tableHost).append(h('h2', null, `Tokens (${items.length})`));
    if (!items.length) {
      tableHost.append(h('p', { class: 'muted' }, 'No API tokens yet.'));
      return;
    }
    tableHost.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
      h('thead', null, h('tr', null, ['Name', 'User', 'Created', 'Last used', 'Expires', 'Status', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((t) => h('tr', null,
        h('td', null, h('strong', null, t.name)),
        h('td', null, names.get(t.user_id) || '—'),
        h('td', null, fmtDate(t.created_at)),
        h('td', null, t.last_used_at ? fmtRelative(t.last_used_at) : h('span', { class: 'muted' }, 'Never')),
        h('td', null, t.expires_at ? fmtDate(t.expires_at) : h('span', { class: 'muted' }, 'Never')),
        h('td', null, t.revoked_at ? h('span', { class: 'badge badge-cancelled' }, 'Revoked')
          : t.active === false ? h('span', { class: 'badge badge-queued' }, 'Expired') : h('span', { class: 'badge badge-completed' }, 'Active')),
        h('td', null, !t.revoked_at && t.active !== false ? h('button', { type: 'button', class: 'btn btn-small btn-danger-ghost', onclick: () => revoke(t) }, 'Revoke') : null)))))));
  }
  async function refresh() {
    const d = await get('/api/v1/tokens');
    draw(d.items || []);
  }
  draw(data.items || []);
  body.append(tableHost, form);
}

// ---- backups and cleanup -----------------------------------------------------------------------

const LABELS = { created_at: 'Started', finished_at: 'Finished', size_bytes: 'Size', files: 'Files', kind: 'Kind',
  status: 'Status', path: 'Where', error: 'Problem' };

function genericTable(items, preferred) {
  if (!items.length) return h('p', { class: 'muted' }, 'Nothing to show.');
  const keys = preferred.filter((k) => items.some((i) => i[k] !== undefined && i[k] !== null && typeof i[k] !== 'object'));
  const cell = (k, v) => (v === undefined || v === null ? '—' : /bytes$|size$/.test(k) ? fmtBytes(v) : /_at$/.test(k) ? fmtDate(v) : typeof v === 'boolean' ? (v ? 'yes' : 'no') : String(v));
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', null, h('tr', null, keys.map((k) => h('th', { scope: 'col' }, LABELS[k] || k.replaceAll('_', ' '))))),
    h('tbody', null, items.slice(0, 100).map((i) => h('tr', null, keys.map((k) => h('td', null, cell(k, i[k]))))))));
}

async function operationsTab(body) {
  const backups = h('section', { class: 'card', 'aria-labelledby': 'bk-h' }, h('h2', { id: 'bk-h' }, 'Backups'));
  const cleanup = h('section', { class: 'card', 'aria-labelledby': 'cl-h' }, h('h2', { id: 'cl-h' }, 'Cleanup'),
    h('p', { class: 'muted' }, 'A dry run lists what the retention rules would delete and how much space it would free. Nothing is deleted.'));
  body.append(backups, cleanup);

  const list = h('div');
  const createBtn = h('button', { type: 'button', class: 'btn btn-primary' }, 'Back up now');
  backups.append(h('p', { class: 'muted' }, 'A consistent copy of the database and every file, with checksums.'), h('div', { class: 'form-actions' }, createBtn), list);
  async function drawBackups() {
    clear(list);
    try {
      const d = await get('/api/v1/admin/backups');
      const items = d.items || d.backups || (Array.isArray(d) ? d : []);
      list.append(items.length ? genericTable(items, ['created_at', 'kind', 'status', 'size_bytes', 'files', 'path', 'error'])
        : h('p', { class: 'muted' }, 'No backups yet.'));
    } catch (e) {
      createBtn.disabled = e.status === 404;
      list.append(e.status === 404 ? unavailable('Backups from the browser') : errorBox(e));
    }
  }
  createBtn.addEventListener('click', async () => {
    createBtn.disabled = true;
    createBtn.textContent = 'Backing up…';
    try {
      await post('/api/v1/admin/backups', {});
      toast('Backup finished.', 'success');
    } catch (e) {
      toast(e.message, 'error');
    } finally {
      createBtn.disabled = false;
      createBtn.textContent = 'Back up now';
      drawBackups();
    }
  });

  const result = h('div', { id: 'cleanup-result' });
  const dryBtn = h('button', { type: 'button', class: 'btn btn-primary' }, 'Preview cleanup (dry run)');
  cleanup.append(h('div', { class: 'form-actions' }, dryBtn), result);
  dryBtn.addEventListener('click', async () => {
    dryBtn.disabled = true;
    clear(result).append(h('p', { class: 'loading' }, 'Looking…'));
    try {
      const r = await post('/api/v1/admin/cleanup', { dry_run: true });
      const stories = r.workflows || [];
      const policy = r.policy || {};
      clear(result).append(
        h('p', { class: 'lead' }, stories.length || r.usage_rows
          ? `A cleanup now would delete ${fmtNumber(stories.length)} ${stories.length === 1 ? 'story' : 'stories'} with ${fmtNumber(r.files || 0)} files (${fmtBytes(r.bytes || 0)}) and ${fmtNumber(r.usage_rows || 0)} usage rows.`
          : 'Nothing is old enough to clean up. Nothing would be deleted.'),
        h('p', { class: 'muted small' },
          `Rules: completed stories are kept ${policy.completed_days ?? '?'} days, failed and cancelled ones ${policy.failed_days ?? '?'} days, usage records ${policy.usage_days ?? '?'} days. Running stories are never deleted.`));
      if (stories.length) {
        result.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
          h('thead', null, h('tr', null, ['Story', 'Status', 'Finished', 'Files', 'Size'].map((c) => h('th', { scope: 'col' }, c)))),
          h('tbody', null, stories.slice(0, 200).map((w) => h('tr', null,
            h('td', null, h('a', { href: `#/w/${w.id}` }, h('code', null, String(w.id).slice(0, 8)))),
            h('td', null, h('span', { class: `badge badge-${w.status}` }, w.status)),
            h('td', null, fmtDate(w.finished_at)),
            h('td', { class: 'num' }, fmtNumber(w.files)),
            h('td', { class: 'num' }, fmtBytes(w.bytes))))))));
      }
    } catch (e) {
      clear(result).append(e.status === 404 ? unavailable('Cleanup from the browser') : errorBox(e));
    } finally {
      dryBtn.disabled = false;
    }
  });
  await drawBackups();
}

// ---- database health ---------------------------------------------------------------------------

function stat(label, value, key) {
  return h('div', { class: 'stat' }, h('dt', null, label), h('dd', { dataset: { stat: key } }, value));
}

function checkSummary(c) {
  if (!c) return h('p', { class: 'muted', id: 'db-last-check' }, 'No check has run yet.');
  const r = c.report || c;
  const lines = [];
  for (const p of r.integrity_check || []) lines.push(`integrity: ${p}`);
  for (const f of r.foreign_key_check || []) lines.push(`foreign key: ${f.table} row ${f.rowid} references a missing ${f.parent}`);
  for (const p of r.constraints || []) lines.push(p);
  for (const p of (r.amcheck && r.amcheck.problems) || []) lines.push(`amcheck: index ${p.index} on ${p.table}: ${p.message}`);
  if (r.migrations && r.migrations !== 'current' && r.migrations !== 'pending') lines.push(`migrations: ${r.migrations}`);
  const at = c.at || r.checked_at;
  const who = c.by === undefined ? '' : c.by ? ' from the browser' : ' by storyloom db check';
  const amcheck = r.amcheck ? (r.amcheck.status === 'ok'
    ? ` amcheck checked ${fmtNumber(r.amcheck.indexes_checked)} indexes.`
    : ` amcheck did not run: ${r.amcheck.message}`) : '';
  return h('div', { id: 'db-last-check' },
    h('p', null, h('span', { class: `badge badge-${r.ok ? 'completed' : 'failed'}` }, r.ok ? 'clean' : `${fmtNumber(r.problems)} problem${r.problems === 1 ? '' : 's'}`),
      ` Checked ${fmtRelative(at)}${who} (${fmtDate(at)}, ${fmtNumber(r.duration_ms || 0)} ms).${amcheck}`),
    lines.length ? h('ul', { class: 'small' }, lines.slice(0, 50).map((l) => h('li', null, l))) : null);
}

async function databaseTab(body) {
  const host = h('div', { id: 'db-health' });
  body.append(host);
  async function draw() {
    let d;
    try {
      d = await get('/api/v1/admin/db');
    } catch (e) {
      clear(host).append(e.status === 404 ? unavailable('Database health') : errorBox(e));
      return;
    }
    clear(host);
    const pg = d.backend === 'postgresql';
    const summary = h('section', { class: 'card', 'aria-labelledby': 'db-h' }, h('h2', { id: 'db-h' }, 'Database'),
      h('p', { class: 'muted' }, `${pg ? 'PostgreSQL' : 'SQLite'} ${d.server_version || ''} · ${d.database}`));
    const stats = h('dl', { class: 'stats' },
      stat('Size', fmtBytes(d.size_bytes), 'size'),
      stat('Schema', d.schema_version === d.latest_version ? `version ${d.schema_version}` : `version ${d.schema_version} of ${d.latest_version}`, 'schema'),
      stat('Last backup', d.last_backup ? fmtRelative(d.last_backup.created_at) : 'never', 'last-backup'));
    if (pg) {
      const c = d.connections;
      const dead = d.tables.reduce((n, t) => n + t.dead_rows, 0);
      stats.append(stat('Connections', `${fmtNumber(c.total)} of ${fmtNumber(c.max)}`, 'connections'),
        stat('Dead rows', fmtNumber(dead), 'dead-rows'),
        stat('Long transactions', fmtNumber(d.long_transactions.items.length), 'long-transactions'));
      if (d.replication.in_recovery || d.replication.replicas.length) {
        stats.append(stat('Replication', d.replication.in_recovery ? 'a standby' : `${d.replication.replicas.length} replica(s)`, 'replication'));
      }
    } else {
      const frag = d.page_count ? (100 * d.free_pages) / d.page_count : 0;
      stats.append(stat('Free pages', `${fmtNumber(d.free_pages)} (${frag.toFixed(1)}%)`, 'free-pages'),
        stat('WAL', fmtBytes(d.wal_bytes), 'wal'),
        stat('Quick check', d.quick_check.ok ? 'ok' : `${d.quick_check.problems.length} problem(s)`, 'quick-check'));
    }
    summary.append(stats);
    if (pg) {
      summary.append(h('p', { class: 'muted small' }, 'Connections by state: ',
        Object.entries(d.connections.by_state).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'));
    }
    host.append(summary);

    const check = h('section', { class: 'card', 'aria-labelledby': 'dbc-h' }, h('h2', { id: 'dbc-h' }, 'Check'),
      h('p', { class: 'muted' }, pg
        ? 'Runs amcheck on every index (creating the extension where this database user may), and looks for invalid indexes and constraints.'
        : "Runs SQLite's integrity_check, which reads every page, and foreign_key_check."));
    const result = h('div', null, checkSummary(d.last_check));
    const runBtn = h('button', { type: 'button', class: 'btn btn-primary', id: 'db-check' }, 'Check now');
    runBtn.addEventListener('click', async () => {
      runBtn.disabled = true;
      runBtn.textContent = 'Checking…';
      try {
        const r = await post('/api/v1/admin/db/check', {});
        clear(result).append(checkSummary({ at: r.checked_at, by: 'you', report: r }));
        toast(r.ok ? 'The database checks clean.' : `The check found ${r.problems} problem(s).`, r.ok ? 'success' : 'error');
      } catch (e) {
        toast(e.message, 'error');
      } finally {
        runBtn.disabled = false;
        runBtn.textContent = 'Check now';
      }
    });
    check.append(h('div', { class: 'form-actions' }, runBtn), result);
    host.append(check);

    if (!pg) return;
    const tables = h('section', { class: 'card', 'aria-labelledby': 'dbt-h' }, h('h2', { id: 'dbt-h' }, 'Tables'),
      h('p', { class: 'muted' }, 'Largest first. Rows are the planner\u2019s estimate; dead rows wait for a vacuum.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'db-tables' },
        h('thead', null, h('tr', null, ['Table', 'Rows (est.)', 'Table size', 'Indexes', 'Dead rows', 'Last vacuum', 'Last autovacuum', 'Last analyze']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, d.tables.map((t) => h('tr', null,
          h('td', null, h('code', null, t.name)),
          h('td', { class: 'num' }, fmtNumber(t.rows_estimate)),
          h('td', { class: 'num' }, fmtBytes(t.table_bytes)),
          h('td', { class: 'num' }, fmtBytes(t.index_bytes)),
          h('td', { class: 'num' }, fmtNumber(t.dead_rows)),
          h('td', null, t.last_vacuum ? fmtRelative(t.last_vacuum) : 'never'),
          h('td', null, t.last_autovacuum ? fmtRelative(t.last_autovacuum) : 'never'),
          h('td', null, (t.last_analyze || t.last_autoanalyze) ? fmtRelative([t.last_analyze, t.last_autoanalyze].filter(Boolean).sort().pop()) : 'never')))))));
    host.append(tables);

    const lt = d.long_transactions;
    const longCard = h('section', { class: 'card', 'aria-labelledby': 'dbl-h' }, h('h2', { id: 'dbl-h' }, 'Long transactions'),
      h('p', { class: 'muted' }, `Transactions of this database open longer than ${Math.round(lt.threshold_ms / 1000)} s. They keep vacuum from removing dead rows.`));
    longCard.append(lt.items.length
      ? h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'db-long-transactions' },
        h('thead', null, h('tr', null, ['Process', 'State', 'Open for', 'User', 'Last statement'].map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, lt.items.map((t) => h('tr', null,
          h('td', { class: 'num' }, String(t.pid)),
          h('td', null, t.state),
          h('td', { class: 'num' }, `${fmtNumber(Math.round(t.age_ms / 1000))} s`),
          h('td', null, t.user),
          h('td', { class: 'small' }, h('code', null, t.query)))))))
      : h('p', { class: 'muted', id: 'db-no-long-transactions' }, 'None.'));
    host.append(longCard);
  }
  await draw();
}

// ---- audit log ---------------------------------------------------------------------------------

async function auditTab(body) {
  const first = await load(body, '/api/v1/admin/audit?limit=50', 'The audit log');
  if (!first) return;
  const card = h('section', { class: 'card' }, h('h2', null, 'Audit log'));
  const tbody = h('tbody');
  const more = h('div', { class: 'more' });
  if (!first.items.length) {
    body.append(emptyState('Nothing recorded yet', 'Sign-ins, token and user changes and deletions appear here.'));
    return;
  }
  card.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table' },
    h('thead', null, h('tr', null, ['When', 'Who', 'Action', 'Target', 'Details', 'From'].map((c) => h('th', { scope: 'col' }, c)))),
    tbody)), more);
  body.append(card);
  const add = (page) => {
    for (const e of page.items) {
      const detail = Object.entries(e.detail || {}).map(([k, v]) => `${k.replaceAll('_', ' ')}: ${v === null ? '—' : typeof v === 'object' ? Object.values(v).join(', ') : v}`).join(' · ');
      tbody.append(h('tr', null,
        h('td', { title: fmtDate(e.created_at) }, fmtRelative(e.created_at)),
        h('td', null, e.username || h('span', { class: 'muted' }, 'system')),
        h('td', null, h('code', null, e.action)),
        h('td', null, e.target || '—'),
        h('td', { class: 'small' }, detail || '—'),
        h('td', { class: 'small muted' }, e.remote_addr || '—')));
    }
    clear(more);
    if (page.next_cursor) {
      more.append(h('button', { type: 'button', class: 'btn', onclick: async () => add(await get(`/api/v1/admin/audit${qs({ limit: 50, cursor: page.next_cursor })}`)) }, 'Show more'));
    }
  };
  add(first);
}
