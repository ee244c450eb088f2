// Your account: your monthly budget and what you spent, your storage use and quota, a form to
// change your password, and
// your browser sessions and API tokens, each with a button that ends it.
import { del, get, post } from '../api.js';
import {
  clear, clearFieldErrors, confirmDialog, emptyState, errorBox, fmtBytes, fmtDate, fmtRelative, fmtUsd, h, pageHeader,
  setFieldError, toast, field,
} from '../ui.js';

export async function render(main, ctx) {
  main.append(pageHeader('Your account', `Signed in as ${ctx.user.username}.`));
  const budgetHost = h('section', { class: 'card', id: 'my-budget', 'aria-labelledby': 'budget-h' });
  const sessionsHost = h('section', { class: 'card', id: 'my-sessions', 'aria-labelledby': 'sessions-h' });
  const storageHost = h('section', { class: 'card', id: 'my-storage', 'aria-labelledby': 'storage-h' });
  main.append(budgetHost, storageHost, passwordForm(() => refreshSessions()), sessionsHost);

  async function refreshBudget() {
    clear(budgetHost).append(h('h2', { id: 'budget-h' }, 'Budget this month'));
    try {
      const b = await get('/api/v1/me/budget');
      const row = (label, value) => h('div', { class: 'stat' }, h('dt', null, label), h('dd', null, value));
      budgetHost.append(h('dl', { class: 'stats' },
        row('Monthly limit', b.monthly_usd ? fmtUsd(b.monthly_usd) : 'No limit'),
        row('Spent', fmtUsd(b.spent_usd)),
        row('Reserved for calls running now', fmtUsd(b.reserved_usd)),
        row('Remaining', b.remaining_usd ? fmtUsd(b.remaining_usd) : '—')),
      h('p', { class: 'hint' }, `Month ${b.period}, in UTC. An administrator sets the limit.`));
    } catch (e) {
      budgetHost.append(errorBox(e, refreshBudget));
    }
  }

  async function refreshStorage() {
    clear(storageHost).append(h('h2', { id: 'storage-h' }, 'Storage'));
    try {
      const s = await get('/api/v1/me/storage');
      const row = (label, value) => h('div', { class: 'stat' }, h('dt', null, label), h('dd', null, value));
      const quota = s.quota_bytes == null ? 'No quota'
        : fmtBytes(s.quota_bytes) + (s.user_quota_bytes == null ? ' (server default)' : '');
      storageHost.append(h('dl', { class: 'stats' },
        row('Used', fmtBytes(s.bytes_used)),
        row('Files', String(s.file_count)),
        row('Quota', quota),
        row('Free', s.bytes_free == null ? '—' : fmtBytes(s.bytes_free))),
      h('p', { class: 'hint' }, 'Your uploads and generated files. An administrator sets the quota; '
        + 'over it, uploads and new stories are refused until files are deleted.'));
    } catch (e) {
      storageHost.append(errorBox(e, refreshStorage));
    }
  }

  async function end(s) {
    const what = s.kind === 'token' ? `the API token "${s.name}"` : 'this browser session';
    const ok = await confirmDialog({
      title: s.current ? 'Sign out here?' : `End ${what}?`,
      text: s.kind === 'token'
        ? 'Programs using it stop working at once.'
        : (s.current ? 'This is the browser you are using now.' : 'That browser is signed out at once.'),
      confirm: s.kind === 'token' ? 'End token' : 'End session',
      danger: true,
    });
    if (!ok) return;
    try {
      await del(`/api/v1/me/sessions/${encodeURIComponent(s.id)}`);
      toast(s.kind === 'token' ? `Token "${s.name}" ended.` : 'Session ended.', 'success');
      if (s.current && s.kind === 'session') {
        location.hash = '#/login';
        location.reload();
        return;
      }
      await refreshSessions();
    } catch (e) {
      toast(e.message, 'error');
    }
  }

  async function refreshSessions() {
    clear(sessionsHost).append(h('h2', { id: 'sessions-h' }, 'Where you are signed in'),
      h('p', { class: 'muted' }, 'Browser sessions and API tokens that can act as you. End any you do not recognise.'));
    let items;
    try {
      items = (await get('/api/v1/me/sessions')).items || [];
    } catch (e) {
      sessionsHost.append(errorBox(e, refreshSessions));
      return;
    }
    if (!items.length) {
      sessionsHost.append(emptyState('Nothing here', 'No sessions or tokens are active.'));
      return;
    }
    sessionsHost.append(h('div', { class: 'table-wrap' }, h('table', { class: 'table', id: 'sessions-table' },
      h('thead', null, h('tr', null, ['Kind', 'Name', 'Created', 'Last used', 'Expires', ''].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', null, items.map((s) => h('tr', { dataset: { session: s.id, kind: s.kind, current: String(s.current) } },
        h('td', null, s.kind === 'token' ? 'API token' : 'Browser',
          s.current ? h('span', { class: 'tag tag-accent' }, s.kind === 'token' ? ' this token' : ' this browser') : null),
        h('td', null, s.kind === 'token' ? s.name : h('span', { class: 'muted' }, '—')),
        h('td', null, fmtDate(s.created_at)),
        h('td', null, s.last_used_at ? fmtRelative(s.last_used_at) : h('span', { class: 'muted' }, '—')),
        h('td', null, s.expires_at ? fmtDate(s.expires_at) : 'Never'),
        h('td', { class: 'actions' }, h('button', { type: 'button', class: 'btn btn-small', onclick: () => end(s) },
          s.current && s.kind === 'session' ? 'Sign out here' : 'End'))))))));
  }

  await Promise.all([refreshBudget(), refreshStorage(), refreshSessions()]);
}

function passwordForm(onChanged) {
  const current = h('input', { name: 'current', type: 'password', autocomplete: 'current-password', required: true });
  const next = h('input', { name: 'new', type: 'password', autocomplete: 'new-password', minlength: '8', required: true });
  const again = h('input', { name: 'again', type: 'password', autocomplete: 'new-password', required: true });
  const formError = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Change password');
  const form = h('form', { class: 'card stack', id: 'password-form', novalidate: true },
    h('h2', null, 'Change your password'),
    h('div', { class: 'row-3' },
      field('Current password', current),
      field('New password', next, { hint: 'At least 8 characters.' }),
      field('New password again', again)),
    h('p', { class: 'hint' }, 'Your other browsers are signed out; this one stays signed in. API tokens keep working.'),
    formError,
    h('div', { class: 'form-actions' }, submit));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    formError.hidden = true;
    if (!current.value) return void setFieldError(form, 'current', 'Enter your current password.');
    if (next.value.length < 8) return void setFieldError(form, 'new', 'Choose at least 8 characters.');
    if (next.value !== again.value) return void setFieldError(form, 'again', 'The two new passwords differ.');
    submit.disabled = true;
    try {
      const r = await post('/api/v1/me/password', { current: current.value, new: next.value });
      form.reset();
      const others = r.sessions_ended === 1 ? '1 other session was' : `${r.sessions_ended} other sessions were`;
      toast(`Password changed. ${others} signed out.`, 'success');
      await onChanged();
    } catch (err) {
      if (err.status === 403) {
        setFieldError(form, 'current', 'That is not your current password.');
      } else if (!(err.field && setFieldError(form, err.field, err.message))) {
        formError.textContent = err.message;
        formError.hidden = false;
      }
    } finally {
      submit.disabled = false;
    }
  });
  return form;
}
