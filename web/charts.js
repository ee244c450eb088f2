// Charts drawn as SVG by hand: a stacked bar chart over days and a horizontal bar chart.
// Every chart carries a text alternative (an aria-label and a hidden data table).
import { h } from './ui.js';

const NS = 'http://www.w3.org/2000/svg';

function s(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v !== undefined && v !== null) el.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// A tidy upper bound for an axis: 1, 2, 2.5 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 2.5, 5, 10]) {
    if (m * p >= v) return m * p;
  }
  return 10 * p;
}

export const PALETTE = ['#4f46e5', '#0d9488', '#d97706', '#db2777', '#2563eb', '#65a30d', '#7c3aed', '#dc2626'];
export const STATUS_COLORS = {
  completed: '#16a34a',
  running: '#2563eb',
  queued: '#94a3b8',
  failed: '#dc2626',
  cancelled: '#a16207',
};

function legend(series) {
  return h('ul', { class: 'legend' },
    series.map((sr) => h('li', null,
      h('span', { class: 'swatch', style: `background:${sr.color}`, 'aria-hidden': 'true' }), sr.name)));
}

function dataTable(caption, head, rows) {
  return h('table', { class: 'sr-only' },
    h('caption', null, caption),
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))));
}

// categories: labels along x (days); series: [{name, color, values[]}] stacked per category.
export function stackedBars({ title, categories, labels, series, format = String, integer = false }) {
  const W = 640;
  const H = 240;
  const m = { top: 12, right: 12, bottom: 28, left: 56 };
  const iw = W - m.left - m.right;
  const ih = H - m.top - m.bottom;
  const totals = categories.map((_, i) => series.reduce((a, sr) => a + (Number(sr.values[i]) || 0), 0));
  // Counts get whole-number ticks: the top of the axis is a multiple of the four steps.
  const top = niceMax(Math.max(0, ...totals));
  const max = integer ? Math.max(4, Math.ceil(top / 4) * 4) : top;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart-svg',
    role: 'img',
    'aria-label': `${title}: ${categories.length} days, total ${format(totals.reduce((a, b) => a + b, 0))}`,
    'data-points': String(totals.filter((t) => t > 0).length),
  });
  for (let t = 0; t <= 4; t++) {
    const y = m.top + ih - (ih * t) / 4;
    svg.append(s('line', { x1: m.left, x2: W - m.right, y1: y, y2: y, class: 'grid' }));
    svg.append(s('text', { x: m.left - 8, y: y + 4, class: 'axis', 'text-anchor': 'end' }, format((max * t) / 4)));
  }
  const n = Math.max(1, categories.length);
  const band = iw / n;
  const bw = Math.max(2, Math.min(36, band * 0.7));
  const every = Math.ceil(n / 8);
  categories.forEach((c, i) => {
    const x = m.left + band * i + (band - bw) / 2;
    let y = m.top + ih;
    series.forEach((sr) => {
      const v = Number(sr.values[i]) || 0;
      if (v <= 0) return;
      const hgt = (ih * v) / max;
      y -= hgt;
      svg.append(s('rect', { x, y, width: bw, height: Math.max(1, hgt), fill: sr.color, rx: 2, class: 'bar' },
        s('title', null, `${labels ? labels[i] : c} · ${sr.name}: ${format(v)}`)));
    });
    if (i % every === 0) {
      svg.append(s('text', { x: x + bw / 2, y: H - 8, class: 'axis', 'text-anchor': 'middle' }, labels ? labels[i] : c));
    }
  });
  svg.append(s('line', { x1: m.left, x2: W - m.right, y1: m.top + ih, y2: m.top + ih, class: 'baseline' }));
  const table = dataTable(title, ['Day', ...series.map((sr) => sr.name)],
    categories.map((c, i) => [labels ? labels[i] : c, ...series.map((sr) => format(Number(sr.values[i]) || 0))]));
  return h('figure', { class: 'chart' }, svg, legend(series), table);
}

// items: [{label, value, extra?, color?}] drawn as horizontal bars, largest first as given.
// markers (optional): per item a second value drawn as a tick (e.g. p95 beside p50).
export function horizontalBars({ title, items, format = String, valueName = 'Value', markerName }) {
  const rowH = 30;
  const W = 640;
  const labelW = 150;
  const valueW = 120;
  const H = Math.max(1, items.length) * rowH + 8;
  const max = niceMax(Math.max(0, ...items.map((it) => Math.max(Number(it.value) || 0, Number(it.marker) || 0))));
  const iw = W - labelW - valueW - 8;
  const svg = s('svg', {
    viewBox: `0 0 ${W} ${H}`,
    class: 'chart-svg',
    role: 'img',
    'aria-label': `${title}: ${items.map((it) => `${it.label} ${format(it.value)}`).join(', ')}`,
    'data-points': String(items.filter((it) => Number(it.value) > 0).length),
  });
  items.forEach((it, i) => {
    const y = 4 + i * rowH;
    const v = Number(it.value) || 0;
    const w = (iw * v) / max;
    const label = it.label.length > 20 ? it.label.slice(0, 19) + '…' : it.label;
    svg.append(s('text', { x: labelW - 10, y: y + 19, class: 'axis label', 'text-anchor': 'end' }, label,
      s('title', null, it.label)));
    svg.append(s('rect', { x: labelW, y: y + 6, width: iw, height: 18, rx: 3, class: 'track' }));
    svg.append(s('rect', { x: labelW, y: y + 6, width: Math.max(v > 0 ? 2 : 0, w), height: 18, rx: 3,
      fill: it.color || PALETTE[0], class: 'bar' }, s('title', null, `${it.label}: ${format(v)}`)));
    if (it.marker !== undefined && it.marker !== null) {
      const mx = labelW + (iw * (Number(it.marker) || 0)) / max;
      svg.append(s('line', { x1: mx, x2: mx, y1: y + 2, y2: y + 28, class: 'marker' },
        s('title', null, `${it.label} ${markerName || ''}: ${format(it.marker)}`)));
    }
    const text = it.marker !== undefined && it.marker !== null ? `${format(v)} / ${format(it.marker)}` : format(v);
    svg.append(s('text', { x: W - 4, y: y + 19, class: 'axis value', 'text-anchor': 'end' }, text));
  });
  const head = ['Name', valueName];
  if (markerName) head.push(markerName);
  const rows = items.map((it) => {
    const r = [it.label, format(it.value)];
    if (markerName) r.push(format(it.marker));
    return r;
  });
  return h('figure', { class: 'chart' }, svg, dataTable(title, head, rows));
}
