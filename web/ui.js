// Small DOM helpers and formatters shared by every page. No framework: h() builds elements.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, v);
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// ---- formatters --------------------------------------------------------------------------

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const dayFmt = new Intl.DateTimeFormat(undefined, { month: 'short', day: 'numeric' });

export function fmtDate(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? '—' : dateTime.format(d);
}

export function fmtDay(day) {
  // day is YYYY-MM-DD; show it in the reader's locale without shifting time zones.
  const [y, m, d] = String(day).split('-').map(Number);
  if (!y || !m || !d) return String(day);
  return dayFmt.format(new Date(y, m - 1, d));
}

export function fmtRelative(iso) {
  if (!iso) return '';
  const diff = (Date.now() - new Date(iso).getTime()) / 1000;
  if (diff < 45) return 'just now';
  if (diff < 3600) return `${Math.round(diff / 60)} min ago`;
  if (diff < 86400) return `${Math.round(diff / 3600)} h ago`;
  if (diff < 86400 * 7) return `${Math.round(diff / 86400)} d ago`;
  return fmtDate(iso);
}

export function fmtBytes(n) {
  n = Number(n) || 0;
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
}

// Money arrives as a decimal string of US dollars ("0.0123"); show cents, or more
// digits when the amount is below a cent, so small costs never read as zero.
export function fmtUsd(value) {
  if (value === null || value === undefined || value === '') return '—';
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (n === 0) return '$0.00';
  const abs = Math.abs(n);
  const digits = abs >= 0.01 ? 2 : Math.min(6, Math.max(3, 1 - Math.floor(Math.log10(abs)) + 1));
  return (n < 0 ? '-$' : '$') + abs.toFixed(digits);
}

export function fmtMs(ms) {
  ms = Number(ms);
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 1 : 0)} s`;
  const m = Math.floor(ms / 60000);
  const s = Math.round((ms % 60000) / 1000);
  return `${m} min ${s} s`;
}

export function fmtNumber(n) {
  return new Intl.NumberFormat().format(Number(n) || 0);
}

export function durationBetween(a, b) {
  if (!a || !b) return null;
  const d = new Date(b).getTime() - new Date(a).getTime();
  return Number.isFinite(d) && d >= 0 ? d : null;
}

// ---- pieces --------------------------------------------------------------------------------

const STATUS_LABELS = {
  queued: 'Queued',
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Cancelled',
  pending: 'Pending',
  skipped: 'Skipped',
};

export function statusLabel(s) {
  return STATUS_LABELS[s] || (s ? s.charAt(0).toUpperCase() + s.slice(1) : 'Unknown');
}

export function statusBadge(status) {
  return h('span', { class: `badge badge-${status || 'unknown'}`, dataset: { status: status || '' } },
    statusLabel(status));
}

export function isActive(status) {
  return status === 'queued' || status === 'running';
}

export function progressBar(value, label) {
  const pct = Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100);
  const bar = h('div', {
    class: 'progress',
    role: 'progressbar',
    'aria-valuemin': '0',
    'aria-valuemax': '100',
    'aria-valuenow': String(pct),
    'aria-label': label || 'Progress',
  }, h('div', { class: 'progress-fill', style: `width:${pct}%` }));
  return bar;
}

export function setProgress(bar, value) {
  const pct = Math.round(Math.max(0, Math.min(1, Number(value) || 0)) * 100);
  bar.setAttribute('aria-valuenow', String(pct));
  bar.firstChild.style.width = `${pct}%`;
}

export function emptyState(title, text, action) {
  return h('div', { class: 'empty' },
    h('div', { class: 'empty-art', 'aria-hidden': 'true' }),
    h('h2', { class: 'empty-title' }, title),
    text ? h('p', null, text) : null,
    action || null);
}

export function errorBox(err, retry) {
  const message = err && err.message ? err.message : 'Something went wrong.';
  return h('div', { class: 'alert alert-error', role: 'alert' },
    h('p', null, message),
    retry ? h('button', { type: 'button', class: 'btn btn-small', onclick: retry }, 'Try again') : null);
}

export function notice(text, kind = 'info') {
  return h('div', { class: `alert alert-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}

export function toast(message, kind = 'info') {
  const host = document.getElementById('toasts');
  if (!host) return;
  const t = h('div', { class: `toast toast-${kind}` }, message);
  host.append(t);
  setTimeout(() => t.classList.add('toast-out'), 3500);
  setTimeout(() => t.remove(), 4000);
}

// A modal confirmation built on <dialog>: resolves true when confirmed.
export function confirmDialog({ title, text, confirm = 'Confirm', danger = false }) {
  return new Promise((resolve) => {
    const dlg = h('dialog', { class: 'dialog', 'aria-labelledby': 'dlg-title' },
      h('form', { method: 'dialog' },
        h('h2', { id: 'dlg-title' }, title),
        text ? h('p', null, text) : null,
        h('div', { class: 'dialog-actions' },
          h('button', { value: 'cancel', class: 'btn btn-ghost' }, 'Cancel'),
          h('button', { value: 'ok', class: `btn ${danger ? 'btn-danger' : 'btn-primary'}` }, confirm))));
    dlg.addEventListener('close', () => {
      resolve(dlg.returnValue === 'ok');
      dlg.remove();
    });
    document.body.append(dlg);
    dlg.showModal();
  });
}

export function pageHeader(title, subtitle, actions) {
  return h('div', { class: 'page-head' },
    h('div', null, h('h1', null, title), subtitle ? h('p', { class: 'muted' }, subtitle) : null),
    actions ? h('div', { class: 'page-actions' }, actions) : null);
}

export function field(label, control, { hint, id } = {}) {
  const fid = id || control.id || `f-${Math.random().toString(36).slice(2, 8)}`;
  control.id = fid;
  const hintEl = hint ? h('p', { class: 'hint', id: `${fid}-hint` }, hint) : null;
  const errEl = h('p', { class: 'field-error', id: `${fid}-err`, hidden: true });
  const describedBy = [hintEl ? `${fid}-hint` : null, `${fid}-err`].filter(Boolean).join(' ');
  control.setAttribute('aria-describedby', describedBy);
  return h('div', { class: 'field' }, h('label', { for: fid }, label), control, hintEl, errEl);
}

export function setFieldError(form, name, message) {
  const control = form.querySelector(`[name="${name}"]`);
  if (!control) return false;
  const err = document.getElementById(`${control.id}-err`);
  control.setAttribute('aria-invalid', 'true');
  if (err) {
    err.textContent = message;
    err.hidden = false;
  }
  control.focus();
  return true;
}

export function clearFieldErrors(form) {
  for (const c of form.querySelectorAll('[aria-invalid]')) c.removeAttribute('aria-invalid');
  for (const e of form.querySelectorAll('.field-error')) {
    e.hidden = true;
    e.textContent = '';
  }
}
