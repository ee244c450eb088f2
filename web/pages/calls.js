// Provider calls one by one (GET /api/v1/usage/calls) and their latency per provider, model
// and operation (GET /api/v1/analytics/performance): the calls table of a story's page and of
// the analytics page, and the analytics page's latency card.
import { get, qs } from '../api.js';
import { horizontalBars, PALETTE } from '../charts.js';
import { clear, fmtDate, fmtMs, fmtNumber, fmtUsd, h } from '../ui.js';

function costCell(c) {
  if (!c.priced) return h('span', { class: 'tag', title: 'No price matched this call' }, 'unpriced');
  return fmtUsd(c.cost_usd);
}

function amountCell(c) {
  const parts = [];
  if (c.input_tokens || c.output_tokens) parts.push(`${fmtNumber(c.input_tokens)} in / ${fmtNumber(c.output_tokens)} out tokens`);
  if (c.images) parts.push(`${fmtNumber(c.images)} image${c.images === 1 ? '' : 's'}`);
  if (c.characters) parts.push(`${fmtNumber(c.characters)} characters`);
  return parts.join(', ') || '—';
}

function errorCell(c) {
  if (!c.error) return '';
  const code = c.error.code || 'error';
  return h('span', { class: 'call-error' }, c.error.http_status ? `${code} (HTTP ${c.error.http_status})` : code);
}

function callRow(c, { showStory }) {
  return h('tr', { class: `call call-${c.status}`, dataset: { callId: String(c.id) } },
    h('td', null, fmtDate(c.created_at)),
    showStory ? h('td', null, c.workflow_id ? h('a', { href: `#/w/${c.workflow_id}` }, c.workflow_id.slice(0, 8)) : '—') : null,
    h('td', null, c.phase || '—'),
    h('td', null, h('div', null, c.provider), h('div', { class: 'muted small' }, c.model || '')),
    h('td', null, c.operation),
    h('td', null, h('span', { class: `tag tag-${c.status === 'ok' ? 'ok' : 'error'}` }, c.status)),
    h('td', { class: 'num' }, String(c.attempt)),
    h('td', { class: 'num' }, fmtMs(c.duration_ms)),
    h('td', null, amountCell(c)),
    h('td', { class: 'num' }, costCell(c)),
    h('td', null, errorCell(c)));
}

// A table of calls matching `filter` (the query of /api/v1/usage/calls), newest first, with
// "Show more" for the next page. Returns {el, reload()}.
export function callsTable(filter, { showStory = false, pageSize = 20, empty = 'No provider calls.' } = {}) {
  const el = h('div', { class: 'calls' });
  let token = 0;
  async function load(cursor, tbody, more) {
    const mine = token;
    const page = await get(`/api/v1/usage/calls${qs({ ...filter, limit: pageSize, cursor })}`);
    if (mine !== token) return;
    for (const c of page.items) tbody.append(callRow(c, { showStory }));
    clear(more);
    if (page.next_cursor) {
      more.append(h('button', { type: 'button', class: 'btn btn-small', onclick: () => load(page.next_cursor, tbody, more).catch(showError) }, 'Show more calls'));
    }
    return page;
  }
  function showError(e) {
    clear(el).append(h('p', { class: 'chart-empty' }, `Could not load the calls: ${e.message}`));
  }
  async function reload() {
    token += 1;
    const tbody = h('tbody');
    const more = h('div', { class: 'calls-more' });
    const head = ['Time', showStory ? 'Story' : null, 'Phase', 'Provider / model', 'Operation', 'Status', 'Try', 'Duration', 'Amount', 'Cost', 'Error']
      .filter((x) => x !== null);
    const table = h('div', { class: 'table-wrap' },
      h('table', { class: 'table calls-table', 'aria-label': 'Provider calls' },
        h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))), tbody));
    try {
      const page = await load('', tbody, more);
      if (!page) return;
      clear(el).append(page.items.length ? table : h('p', { class: 'muted' }, empty), more);
    } catch (e) {
      showError(e);
    }
  }
  return { el, reload };
}

// The calls section of a story's page: loads when the story first shows and again when its
// status changes (a running story makes calls as it goes).
export function storyCalls() {
  const body = h('div', null, h('p', { class: 'muted' }, 'Loading calls…'));
  const el = h('section', { class: 'card', 'aria-labelledby': 'calls-h', id: 'story-calls' },
    h('h2', { id: 'calls-h' }, 'Provider calls'),
    h('p', { class: 'muted small' }, 'Every call to a generation provider for this story, retries and failures included.'),
    body);
  let shown = null;
  let table = null;
  function update(wf) {
    const key = `${wf.id}:${wf.status}:${wf.phase || ''}`;
    if (key === shown) return;
    shown = key;
    if (!table || table.workflow !== wf.id) {
      table = callsTable({ workflow_id: wf.id }, { empty: 'No provider calls yet.' });
      table.workflow = wf.id;
      clear(body).append(table.el);
    }
    table.reload();
  }
  return { el, update };
}

// The analytics page's latency card: per provider, model and operation, the median latency
// (bar) and the 95th percentile (tick), with p99, error rate and retries per call below.
export function performanceCard(perf, chartCard) {
  const items = (perf && Array.isArray(perf.items) ? perf.items : []).slice().sort((a, b) => b.calls - a.calls);
  const name = (r) => `${r.provider}/${r.model || '—'} ${r.operation}`;
  const body = items.length
    ? h('div', null,
      horizontalBars({
        title: 'Provider call latency',
        items: items.slice(0, 10).map((r, i) => ({ label: name(r), value: r.latency_ms.p50, marker: r.latency_ms.p95, color: PALETTE[(i + 3) % PALETTE.length] })),
        format: fmtMs,
        valueName: 'Median',
        markerName: '95th percentile',
      }),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table perf-table', 'aria-label': 'Provider performance' },
        h('thead', null, h('tr', null, ['Provider / model', 'Operation', 'Calls', 'p50', 'p95', 'p99', 'Error rate', 'Retries per call']
          .map((c) => h('th', { scope: 'col' }, c)))),
        h('tbody', null, items.map((r) => h('tr', { dataset: { provider: r.provider, model: r.model, operation: r.operation } },
          h('td', null, `${r.provider}/${r.model || '—'}`),
          h('td', null, r.operation),
          h('td', { class: 'num' }, fmtNumber(r.calls)),
          h('td', { class: 'num' }, fmtMs(r.latency_ms.p50)),
          h('td', { class: 'num' }, fmtMs(r.latency_ms.p95)),
          h('td', { class: 'num' }, fmtMs(r.latency_ms.p99)),
          h('td', { class: 'num' }, r.error_rate === null ? '—' : `${(r.error_rate * 100).toFixed(1)}%`),
          h('td', { class: 'num' }, r.retries_per_call === null ? '—' : r.retries_per_call.toFixed(2))))))))
    : h('p', { class: 'chart-empty' }, 'No provider calls in this date range.');
  const card = chartCard('Provider latency', 'Per provider, model and operation: median (bar) and 95th percentile (line). Phase durations (beside) are made of these calls.', body);
  card.id = 'provider-latency';
  return card;
}
