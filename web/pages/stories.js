// The list of stories: search, status filter, paging by cursor, and live rows (SSE for a
// few running stories, polling every 2 s when there are more than the browser should hold
// open at once).
import { get, qs } from '../api.js';
import { watchWorkflow } from '../live.js';
import {
  clear, emptyState, errorBox, fmtRelative, fmtDate, h, isActive, pageHeader, progressBar, setProgress,
  statusBadge, statusLabel,
} from '../ui.js';

const PAGE = 20;
const MAX_STREAMS = 3; // browsers allow 6 connections per host; leave room for the rest
const PHASES = { story: 'Story', scenes: 'Scenes', images: 'Pictures', narration: 'Narration', assemble: 'Assembling' };

export async function render(main, ctx) {
  const q = ctx.query.get('q') || '';
  const status = ctx.query.get('status') || '';
  const search = h('input', { type: 'search', name: 'q', id: 'q', value: q, placeholder: 'Search titles and prompts',
    autocomplete: 'off' });
  const statusSel = h('select', { name: 'status', id: 'status' },
    ['', 'queued', 'running', 'completed', 'failed', 'cancelled'].map((s) =>
      h('option', { value: s, selected: s === status || undefined }, s ? statusLabel(s) : 'All statuses')));
  const filters = h('form', { class: 'filters', role: 'search' },
    h('div', { class: 'field grow' }, h('label', { for: 'q', class: 'sr-only' }, 'Search'), search),
    h('div', { class: 'field' }, h('label', { for: 'status', class: 'sr-only' }, 'Status'), statusSel),
    h('button', { type: 'submit', class: 'btn' }, 'Search'));
  const apply = () => {
    const p = qs({ q: search.value.trim(), status: statusSel.value });
    ctx.navigate(`/${p}`);
  };
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    apply();
  });
  statusSel.addEventListener('change', apply);

  const listHost = h('div', { class: 'list-host', 'aria-live': 'off' });
  const more = h('div', { class: 'more' });
  main.append(
    pageHeader('Stories', 'Everything you have made, newest first.',
      h('a', { href: '#/new', class: 'btn btn-primary' }, '+ New story')),
    filters, listHost, more);

  const rows = new Map(); // id -> {el, wf, update(wf)}
  const streams = new Map();
  let pollTimer = null;
  let stopped = false;
  let cursor = null;
  const list = h('ul', { class: 'wf-list' });

  async function loadPage(first) {
    const params = { q: search.value.trim(), status: statusSel.value, limit: PAGE, cursor: first ? '' : cursor };
    const page = await get(`/api/v1/workflows${qs(params)}`);
    if (stopped) return;
    if (first) {
      clear(listHost);
      if (!page.items.length) {
        listHost.append(q || status
          ? emptyState('No stories match', 'Try other words, or show all statuses.',
            h('a', { href: '#/', class: 'btn' }, 'Clear filters'))
          : emptyState('No stories yet', 'Describe an idea and Storyloom turns it into a narrated storyboard.',
            h('a', { href: '#/new', class: 'btn btn-primary' }, 'Create your first story')));
      } else {
        listHost.append(list);
      }
    }
    for (const wf of page.items) addRow(wf);
    cursor = page.next_cursor;
    clear(more);
    if (cursor) {
      const btn = h('button', { type: 'button', class: 'btn', onclick: async () => {
        btn.disabled = true;
        btn.textContent = 'Loading…';
        try {
          await loadPage(false);
        } catch (e) {
          clear(more).append(errorBox(e));
        }
      } }, 'Show more');
      more.append(btn);
    }
    syncLive();
  }

  function addRow(wf) {
    if (rows.has(wf.id)) {
      rows.get(wf.id).update(wf);
      return;
    }
    const title = h('a', { href: `#/w/${wf.id}`, class: 'wf-title' });
    const badgeSlot = h('span', { class: 'wf-badge' });
    const sub = h('span', { class: 'wf-sub muted' });
    const bar = progressBar(wf.progress, 'Progress');
    const pct = h('span', { class: 'wf-pct' });
    const thumb = h('span', { class: 'wf-thumb', 'aria-hidden': 'true' });
    const el = h('li', { class: 'wf-row', dataset: { id: wf.id } },
      thumb,
      h('div', { class: 'wf-main' }, title, sub),
      h('div', { class: 'wf-progress' }, bar, pct),
      badgeSlot);
    const row = { el, wf };
    row.update = (w) => {
      row.wf = { ...row.wf, ...w };
      const cur = row.wf;
      title.textContent = cur.title || 'Untitled story';
      clear(badgeSlot).append(statusBadge(cur.status));
      el.dataset.status = cur.status;
      setProgress(bar, cur.progress);
      pct.textContent = `${Math.round((cur.progress || 0) * 100)}%`;
      const phase = cur.status === 'running' && cur.phase ? `${PHASES[cur.phase] || cur.phase} · ` : '';
      sub.textContent = `${phase}${fmtRelative(cur.created_at)}`;
      sub.title = fmtDate(cur.created_at);
      if (cur.error && cur.status === 'failed') sub.textContent += ` · ${cur.error.message}`;
      // The video's poster, once the story has one.
      if (cur.poster_url && thumb.dataset.src !== cur.poster_url) {
        thumb.dataset.src = cur.poster_url;
        clear(thumb).append(h('img', { src: cur.poster_url, alt: '', loading: 'lazy', width: 96, height: 54 }));
      }
    };
    row.update(wf);
    rows.set(wf.id, row);
    list.append(el);
  }

  // Keeps SSE streams on up to MAX_STREAMS active rows and polls when there are more.
  function syncLive() {
    if (stopped) return;
    const active = [...rows.values()].filter((r) => isActive(r.wf.status));
    for (const [id, s] of streams) {
      if (!active.some((r) => r.wf.id === id)) {
        s.close();
        streams.delete(id);
      }
    }
    for (const r of active) {
      if (streams.size >= MAX_STREAMS) break;
      if (streams.has(r.wf.id)) continue;
      const id = r.wf.id;
      streams.set(id, watchWorkflow(id, {
        onEvent(ev) {
          const row = rows.get(id);
          if (!row) return;
          if (ev.type === 'progress' && typeof ev.data.progress === 'number') row.update({ progress: ev.data.progress });
          if (ev.type === 'phase' && ev.data.status === 'running') row.update({ phase: ev.data.phase, status: 'running' });
          if (ev.type === 'status' && ev.data.status === 'running') row.update({ status: 'running' });
        },
        async onFinal() {
          try {
            const fresh = await get(`/api/v1/workflows/${id}`);
            rows.get(id)?.update(fresh);
            if (isActive(fresh.status)) return true;
          } catch { /* deleted meanwhile */ }
          streams.get(id)?.close();
          streams.delete(id);
          syncLive();
          return false;
        },
      }));
    }
    clearTimeout(pollTimer);
    if (active.length > streams.size) pollTimer = setTimeout(poll, 2000);
  }

  async function poll() {
    if (stopped) return;
    try {
      const page = await get(`/api/v1/workflows${qs({ q: search.value.trim(), status: statusSel.value, limit: 100 })}`);
      for (const wf of page.items) if (rows.has(wf.id)) rows.get(wf.id).update(wf);
    } catch { /* try again on the next tick */ }
    syncLive();
  }

  try {
    await loadPage(true);
  } catch (e) {
    clear(listHost).append(errorBox(e, () => ctx.navigate(location.hash.slice(1))));
  }
  return () => {
    stopped = true;
    clearTimeout(pollTimer);
    for (const s of streams.values()) s.close();
  };
}
