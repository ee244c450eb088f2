// Analytics dashboard: stories per day by status, cost per day by model, phase durations,
// provider latency per model and operation beside them, top users (admins), files by type,
// and the provider calls one by one, over a date range (UTC days). Reads
// /api/v1/analytics/summary when the server has it, /api/v1/usage for costs, and falls
// back to the workflow list when the summary endpoint is missing.
import { get, qs } from '../api.js';
import { callsTable, performanceCard } from './calls.js';
import { horizontalBars, PALETTE, stackedBars, STATUS_COLORS } from '../charts.js';
import {
  clear, durationBetween, fmtBytes, fmtDay, fmtMs, fmtNumber, fmtUsd, h, notice, pageHeader,
} from '../ui.js';

const DAY = 86400000;
const STATUSES = ['completed', 'running', 'queued', 'failed', 'cancelled'];

function isoDay(d) {
  return new Date(d).toISOString().slice(0, 10);
}

function daysBetween(from, to) {
  const out = [];
  for (let t = Date.parse(from + 'T00:00:00Z'); t <= Date.parse(to + 'T00:00:00Z'); t += DAY) out.push(isoDay(t));
  return out;
}

const num = (v) => (v === null || v === undefined || v === '' ? 0 : Number(v) || 0);
const usdOf = (r) => (r.cost_nusd !== undefined ? num(r.cost_nusd) / 1e9 : num(r.cost_usd));
const usdFmt = (v) => fmtUsd(v);

// Workflows per day by status from the summary's workflows.per_day
// ([{day, total, completed, failed, …}]).
function perDayFromSummary(summary) {
  const src = summary?.workflows?.per_day;
  if (!Array.isArray(src)) return null;
  const map = new Map();
  for (const r of src) {
    const m = {};
    for (const st of STATUSES) if (r[st]) m[st] = num(r[st]);
    map.set(String(r.day).slice(0, 10), m);
  }
  return map;
}

// Phase durations from phase_duration_ms ({phase: {count, p50, p95, mean}}).
function phasesFromSummary(summary) {
  const src = summary?.phase_duration_ms;
  if (!src || typeof src !== 'object') return null;
  return Object.entries(src).filter(([, q]) => q && q.count > 0)
    .map(([phase, q]) => ({ phase, p50: num(q.p50), p95: num(q.p95) }));
}

async function workflowsInRange(from, toExclusive) {
  // Fallback for a server without the analytics endpoint: walk the newest stories.
  const items = [];
  let cursor = '';
  for (let i = 0; i < 5; i++) {
    const page = await get(`/api/v1/workflows${qs({ limit: 200, cursor })}`);
    for (const w of page.items) {
      const d = String(w.created_at).slice(0, 10);
      if (d >= from && d < toExclusive) items.push(w);
    }
    const last = page.items[page.items.length - 1];
    if (!page.next_cursor || (last && String(last.created_at).slice(0, 10) < from)) break;
    cursor = page.next_cursor;
  }
  return items;
}

async function phaseFallback(workflows) {
  const done = workflows.filter((w) => w.status === 'completed').slice(0, 12);
  const details = await Promise.all(done.map((w) => get(`/api/v1/workflows/${w.id}`).catch(() => null)));
  const by = new Map();
  for (const d of details) {
    for (const p of d?.phases || []) {
      const ms = durationBetween(p.started_at, p.finished_at);
      if (ms === null) continue;
      if (!by.has(p.name)) by.set(p.name, []);
      by.get(p.name).push(ms);
    }
  }
  const q = (arr, f) => {
    const s = [...arr].sort((a, b) => a - b);
    return s[Math.min(s.length - 1, Math.floor(f * s.length))];
  };
  return [...by].map(([phase, arr]) => ({ phase, p50: q(arr, 0.5), p95: q(arr, 0.95) }));
}

function chartCard(title, subtitle, body, extra) {
  return h('section', { class: 'card chart-card', 'aria-label': title },
    h('div', { class: 'chart-head' }, h('div', null, h('h2', null, title), subtitle ? h('p', { class: 'muted small' }, subtitle) : null), extra || null),
    body);
}

function kpi(label, value, note) {
  return h('div', { class: 'kpi' }, h('div', { class: 'kpi-label' }, label), h('div', { class: 'kpi-value' }, value),
    note ? h('div', { class: 'kpi-note muted small' }, note) : null);
}

// This month's spending against the monthly budget (the server's for admins, one's own
// otherwise), when the server reports budgets.
function budgetKpi(budgets, admin) {
  const b = budgets && (admin ? budgets.global : budgets.user);
  if (!b) return null;
  const limit = b.monthly_usd;
  return kpi('Spent this month', fmtUsd(b.spent_usd),
    limit ? `of ${fmtUsd(limit)} ${admin ? 'server budget' : 'budget'} (${Math.min(999, Math.round((num(b.spent_usd) / num(limit)) * 100))}%)` : 'no monthly limit');
}

export async function render(main, ctx) {
  const admin = ctx.user.role === 'admin';
  const today = isoDay(Date.now());
  const from0 = ctx.query.get('from') || isoDay(Date.now() - 13 * DAY);
  const to0 = ctx.query.get('to') || today;
  const fromIn = h('input', { type: 'date', id: 'from', name: 'from', value: from0, max: today });
  const toIn = h('input', { type: 'date', id: 'to', name: 'to', value: to0, max: today });
  const form = h('form', { class: 'filters range' },
    h('div', { class: 'field' }, h('label', { for: 'from' }, 'From'), fromIn),
    h('div', { class: 'field' }, h('label', { for: 'to' }, 'To'), toIn),
    h('button', { type: 'submit', class: 'btn btn-primary' }, 'Show'),
    h('div', { class: 'presets', role: 'group', 'aria-label': 'Quick ranges' },
      [7, 30, 90].map((n) => h('button', { type: 'button', class: 'btn btn-ghost btn-small', onclick: () => {
        ctx.navigate(`/analytics${qs({ from: isoDay(Date.now() - (n - 1) * DAY), to: today })}`);
      } }, `Last ${n} days`))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    if (fromIn.value && toIn.value && fromIn.value > toIn.value) {
      [fromIn.value, toIn.value] = [toIn.value, fromIn.value];
    }
    ctx.navigate(`/analytics${qs({ from: fromIn.value, to: toIn.value })}`);
  });
  const body = h('div', { class: 'dash', 'aria-busy': 'true' }, h('p', { class: 'loading' }, 'Loading numbers…'));
  const csv = h('a', { class: 'btn btn-small', href: `/api/v1/usage${qs({ from: from0, to: isoDay(Date.parse(to0) + DAY), group_by: 'day,model', format: 'csv' })}` }, 'Download usage CSV');
  main.append(pageHeader('Analytics', admin ? 'Usage and costs across everyone, by UTC day.' : 'Your usage and costs, by UTC day.', csv), form, body);

  const from = from0 <= to0 ? from0 : to0;
  const to = from0 <= to0 ? to0 : from0;
  const toExclusive = isoDay(Date.parse(to) + DAY);
  const days = daysBetween(from, to);
  const labels = days.map(fmtDay);
  const range = qs({ from, to: toExclusive });

  let summary = null;
  let summaryMissing = false;
  try {
    summary = await get(`/api/v1/analytics/summary${range}`);
  } catch (e) {
    if (e.status === 404) summaryMissing = true;
    else if (e.status !== 403) throw e;
  }
  const [usageDayModel, usageUsers, users, budgets, perf] = await Promise.all([
    get(`/api/v1/usage${qs({ from, to: toExclusive, group_by: 'day,model' })}`).catch((e) => ({ error: e })),
    admin ? get(`/api/v1/usage${qs({ from, to: toExclusive, group_by: 'user' })}`).catch(() => null) : null,
    admin ? get('/api/v1/users?limit=200').catch(() => null) : null,
    get('/api/v1/budgets').catch(() => null),
    get(`/api/v1/analytics/performance${range}`).catch(() => null),
  ]);
  if (!ctx.isCurrent()) return;

  let perDay = summary ? perDayFromSummary(summary) : null;
  let phases = summary ? phasesFromSummary(summary) : null;
  let fallbackWorkflows = null;
  if (!perDay || !phases) {
    fallbackWorkflows = await workflowsInRange(from, toExclusive);
    if (!perDay) {
      perDay = new Map();
      for (const w of fallbackWorkflows) {
        const d = String(w.created_at).slice(0, 10);
        const m = perDay.get(d) || {};
        m[w.status] = (m[w.status] || 0) + 1;
        perDay.set(d, m);
      }
    }
    if (!phases) phases = await phaseFallback(fallbackWorkflows);
  }
  if (!ctx.isCurrent()) return;

  clear(body).removeAttribute('aria-busy');
  if (summaryMissing) {
    body.append(notice('This server does not have the analytics summary yet, so some numbers are worked out in your browser from your most recent stories.', 'info'));
  }

  // ---- key numbers
  const totals = { all: 0, completed: 0, failed: 0 };
  for (const m of perDay.values()) {
    for (const [s, n] of Object.entries(m)) {
      totals.all += n;
      if (s === 'completed') totals.completed += n;
      if (s === 'failed') totals.failed += n;
    }
  }
  const usageItems = usageDayModel && !usageDayModel.error ? usageDayModel.items : [];
  const usageTotal = usageDayModel && !usageDayModel.error ? usageDayModel.total : null;
  const totalCost = usageTotal ? usdOf(usageTotal) : usageItems.reduce((a, r) => a + usdOf(r), 0);
  let rate = summary?.workflows ? summary.workflows.success_rate : undefined;
  if (rate === undefined) {
    const finished = totals.completed + totals.failed;
    rate = finished ? totals.completed / finished : null;
  }
  const rateText = rate === null || rate === undefined ? '—' : `${Math.round(num(rate) * 100)}%`;
  const cpw = summary?.cost_per_workflow_usd;
  const cpwText = cpw && cpw.count ? `${fmtUsd(cpw.p50)} / ${fmtUsd(cpw.p95)}` : (totals.all ? fmtUsd(totalCost / totals.all) : '—');
  const filesSrc = Array.isArray(summary?.files?.by_type) ? summary.files.by_type : [];
  const fileCount = num(summary?.files?.files);
  const fileBytes = num(summary?.files?.bytes);
  body.append(h('div', { class: 'kpis' },
    kpi('Stories', fmtNumber(totals.all), `${days.length} days`),
    kpi('Success rate', rateText, 'completed of finished'),
    kpi('Total cost', fmtUsd(totalCost), usageTotal ? `${fmtNumber(usageTotal.calls)} provider calls` : null),
    kpi(cpw && cpw.count ? 'Cost per story p50 / p95' : 'Average cost per story', cpwText),
    filesSrc.length ? kpi('Files', fmtNumber(fileCount), fmtBytes(fileBytes)) : null,
    budgetKpi(budgets, admin)));

  const grid = h('div', { class: 'chart-grid' });
  body.append(grid);

  // ---- stories per day by status
  const statusSeries = STATUSES.map((s) => ({
    name: s.charAt(0).toUpperCase() + s.slice(1),
    color: STATUS_COLORS[s],
    values: days.map((d) => num(perDay.get(d)?.[s])),
  })).filter((sr) => sr.values.some((v) => v > 0));
  grid.append(chartCard('Stories per day', 'By status', totals.all
    ? stackedBars({ title: 'Stories per day by status', categories: days, labels, series: statusSeries, integer: true, format: (v) => fmtNumber(v) })
    : h('p', { class: 'chart-empty' }, 'No stories in this date range.')));

  // ---- cost per day by model
  let costBody;
  if (usageDayModel && usageDayModel.error) {
    costBody = h('p', { class: 'chart-empty' }, usageDayModel.error.message);
  } else {
    const models = [...new Set(usageItems.map((r) => r.model || 'unknown'))];
    const costSeries = models.map((mdl, i) => ({
      name: mdl || 'unknown',
      color: PALETTE[i % PALETTE.length],
      values: days.map((d) => usageItems.filter((r) => r.day === d && (r.model || 'unknown') === mdl).reduce((a, r) => a + usdOf(r), 0)),
    }));
    const callsSeries = models.map((mdl, i) => ({
      name: mdl || 'unknown',
      color: PALETTE[i % PALETTE.length],
      values: days.map((d) => usageItems.filter((r) => r.day === d && (r.model || 'unknown') === mdl).reduce((a, r) => a + num(r.calls), 0)),
    }));
    if (!usageItems.length) costBody = h('p', { class: 'chart-empty' }, 'No provider calls in this date range.');
    else if (totalCost > 0) costBody = stackedBars({ title: 'Cost per day by model', categories: days, labels, series: costSeries, format: usdFmt });
    else {
      costBody = h('div', null,
        h('p', { class: 'muted small' }, 'Every call in this range was free (the offline provider costs nothing), so this shows calls instead of dollars.'),
        stackedBars({ title: 'Provider calls per day by model', categories: days, labels, series: callsSeries, integer: true, format: (v) => fmtNumber(v) }));
    }
  }
  grid.append(chartCard('Cost per day', 'By model', costBody));

  // ---- phase durations
  const order = ['story', 'scenes', 'images', 'narration', 'assemble'];
  phases.sort((a, b) => (order.indexOf(a.phase) + 99) % 99 - (order.indexOf(b.phase) + 99) % 99);
  grid.append(chartCard('Phase durations', summary && !summaryMissing ? 'Median (bar) and 95th percentile (line)' : 'Median (bar) and 95th percentile (line) of recent finished stories',
    phases.length
      ? horizontalBars({ title: 'Phase durations', items: phases.map((p, i) => ({ label: p.phase, value: p.p50, marker: p.p95, color: PALETTE[(i + 1) % PALETTE.length] })), format: fmtMs, valueName: 'Median', markerName: '95th percentile' })
      : h('p', { class: 'chart-empty' }, 'No finished phases in this date range.'),
    perf ? h('a', { class: 'btn btn-ghost btn-small', href: '#provider-latency', onclick: (e) => {
      e.preventDefault();
      document.getElementById('provider-latency')?.scrollIntoView({ behavior: 'smooth' });
    } }, 'Provider latency →') : null));
  // ---- provider latency, beside the phases it makes up
  if (perf) grid.append(performanceCard(perf, chartCard));

  // ---- cost by model (totals)
  const byModelSrc = Array.isArray(summary?.cost_by_model) ? summary.cost_by_model : [];
  const byModel = byModelSrc.length
    ? byModelSrc.map((r) => ({ label: r.model || r.provider || 'unknown', value: usdOf(r), calls: num(r.calls) }))
    : [...usageItems.reduce((m, r) => {
      const k = r.model || 'unknown';
      const cur = m.get(k) || { label: k, value: 0, calls: 0 };
      cur.value += usdOf(r);
      cur.calls += num(r.calls);
      return m.set(k, cur);
    }, new Map()).values()];
  const modelCost = byModel.some((r) => r.value > 0);
  const modelItems = byModel.map((r) => (modelCost ? r : { ...r, value: r.calls })).sort((a, b) => b.value - a.value).slice(0, 8);
  grid.append(chartCard(modelCost ? 'Cost by model' : 'Calls by model', modelCost ? 'Total over the range' : 'No costs in this range, so provider calls instead',
    modelItems.length ? horizontalBars({ title: modelCost ? 'Cost by model' : 'Calls by model', items: modelItems, format: modelCost ? usdFmt : (v) => fmtNumber(v), valueName: modelCost ? 'Cost' : 'Calls' })
      : h('p', { class: 'chart-empty' }, 'No provider calls in this date range.')));

  // ---- top users (admins)
  if (admin) {
    const names = new Map();
    for (const u of (users && (users.items || users.users || (Array.isArray(users) ? users : []))) || []) names.set(u.id, u.username);
    const byUserSrc = Array.isArray(summary?.cost_by_user) ? summary.cost_by_user : [];
    const byUser = (byUserSrc.length ? byUserSrc : (usageUsers?.items || []).map((r) => ({ ...r, user_id: r.user })))
      .map((r) => ({ label: r.username || names.get(r.user_id) || (r.user_id ? `user ${String(r.user_id).slice(0, 8)}` : 'unknown'), value: usdOf(r), calls: num(r.calls) }));
    const anyCost = byUser.some((r) => r.value > 0);
    const items = byUser.map((r) => (anyCost ? r : { ...r, value: r.calls }))
      .sort((a, b) => b.value - a.value).slice(0, 8);
    grid.append(chartCard('Top users', anyCost ? 'By cost' : 'By provider calls (no costs in range)',
      items.length ? horizontalBars({ title: 'Top users', items, format: anyCost ? usdFmt : (v) => fmtNumber(v), valueName: anyCost ? 'Cost' : 'Calls' })
        : h('p', { class: 'chart-empty' }, 'No usage in this date range.')));
  }

  // ---- files by type
  if (filesSrc.length) {
    grid.append(chartCard('Files by type', 'Storage used',
      horizontalBars({ title: 'Files by type', items: filesSrc.map((r, i) => ({ label: `${r.type} (${fmtNumber(r.files)})`, value: num(r.bytes), color: PALETTE[(i + 2) % PALETTE.length] })), format: fmtBytes, valueName: 'Bytes' })));
  }

  // ---- the calls themselves, newest first
  const calls = callsTable({ from, to: toExclusive }, { showStory: true, empty: 'No provider calls in this date range.' });
  body.append(h('section', { class: 'card', 'aria-labelledby': 'analytics-calls-h', id: 'analytics-calls' },
    h('h2', { id: 'analytics-calls-h' }, 'Provider calls'),
    h('p', { class: 'muted small' }, 'Every call in the range, newest first, retries and failures included.'),
    calls.el));
  calls.reload();
}
