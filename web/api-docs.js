// The API reference (/api/docs): renders /api/v1/openapi.json (docs/openapi.yaml) with the
// DOM only (no innerHTML of document text), so the page needs nothing but this server.

const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

// Prose with `code` and **strong** spans; everything else stays text.
function prose(text, cls = 'prose') {
  const p = el('div', { class: cls });
  String(text || '').split(/(`[^`]+`|\*\*[^*]+\*\*)/).forEach((part) => {
    if (part.startsWith('`') && part.endsWith('`') && part.length > 1) p.append(el('code', {}, part.slice(1, -1)));
    else if (part.startsWith('**') && part.endsWith('**') && part.length > 4) p.append(el('strong', {}, part.slice(2, -2)));
    else if (part) p.append(document.createTextNode(part));
  });
  return p;
}

function slug(s) {
  return String(s).replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

let spec = null;

function resolve(ref) {
  if (!ref.startsWith('#/')) return {};
  return ref.slice(2).split('/').reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), spec) || {};
}

function deref(obj) {
  let seen = 0;
  while (obj && obj.$ref && seen++ < 20) obj = resolve(obj.$ref);
  return obj || {};
}

function refName(ref) {
  return ref.split('/').pop();
}

function typeText(s) {
  if (s.$ref) return null;
  const types = Array.isArray(s.type) ? s.type : s.type ? [s.type] : [];
  let t = types.map((x) => (x === 'array' && s.items ? 'array' : x)).join(' | ');
  if (s.const !== undefined) t = (t ? t + ' ' : '') + '= ' + JSON.stringify(s.const);
  if (s.enum) t = (t ? t + ' ' : '') + 'one of ' + s.enum.map((v) => JSON.stringify(v)).join(', ');
  return t;
}

function constraints(s) {
  const out = [];
  const add = (k, label) => { if (s[k] !== undefined) out.push(`${label} ${s[k]}`); };
  add('minimum', '≥'); add('maximum', '≤'); add('minLength', 'min length'); add('maxLength', 'max length');
  add('minItems', 'min items'); add('maxItems', 'max items');
  if (s.pattern) out.push(`pattern ${s.pattern}`);
  if (s.format) out.push(`format ${s.format}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out.join(', ');
}

// One schema as a nested list: the members of objects, the items of arrays, the branches of
// oneOf/anyOf/allOf; a $ref links to the component (expanded once per branch).
function schemaTree(schema, depth = 0, seen = new Set()) {
  const ul = el('ul', { class: depth === 0 ? 'schema' : '' });
  ul.append(schemaLine(null, schema, false, depth, seen));
  return ul;
}

function schemaLine(name, schema, required, depth, seen) {
  const li = el('li');
  if (name !== null) li.append(el('span', { class: 'prop' }, name), required ? el('span', { class: 'req' }, ' required') : '', ': ');
  if (!schema || Object.keys(schema).length === 0) {
    li.append(el('span', { class: 'type' }, 'any JSON'));
    return li;
  }
  if (schema.$ref) {
    const n = refName(schema.$ref);
    li.append(el('a', { class: 'type', href: '#schema-' + slug(n) }, n));
    if (schema.description) li.append(' ', el('span', { class: 'note' }, '— ' + schema.description));
    if (!seen.has(n) && depth < 6) {
      const inner = deref(schema);
      const next = new Set(seen).add(n);
      const kids = children(inner, depth + 1, next);
      if (kids) li.append(kids);
    }
    return li;
  }
  const t = typeText(schema);
  if (t) li.append(el('span', { class: 'type' }, t));
  const c = constraints(schema);
  if (c) li.append(' ', el('span', { class: 'note' }, `(${c})`));
  if (schema.description) li.append(' ', el('span', { class: 'note' }, '— ' + schema.description));
  const kids = children(schema, depth + 1, seen);
  if (kids) li.append(kids);
  return li;
}

function children(schema, depth, seen) {
  const ul = el('ul');
  for (const k of ['allOf', 'oneOf', 'anyOf']) {
    if (!schema[k]) continue;
    const label = { allOf: 'all of', oneOf: 'one of', anyOf: 'any of' }[k];
    const li = el('li', {}, el('span', { class: 'note' }, label + ':'));
    const sub = el('ul');
    schema[k].forEach((s) => sub.append(schemaLine(s.title || null, s, false, depth, seen)));
    li.append(sub);
    ul.append(li);
  }
  const req = new Set(schema.required || []);
  for (const [name, s] of Object.entries(schema.properties || {})) ul.append(schemaLine(name, s, req.has(name), depth, seen));
  if (schema.additionalProperties && typeof schema.additionalProperties === 'object') {
    ul.append(schemaLine('*', schema.additionalProperties, false, depth, seen));
  }
  if (schema.items) ul.append(schemaLine('[ ]', schema.items, false, depth, seen));
  return ul.childNodes.length ? ul : null;
}

function securityText(op) {
  const sec = op.security || spec.security || [];
  if (sec.length === 0 || sec.every((r) => Object.keys(r).length === 0)) return 'public';
  const alts = sec.map((r) => Object.keys(r).join(' + ') || 'none');
  return alts.join(' or ');
}

function paramsTable(params) {
  const table = el('table', {}, el('tr', {}, el('th', {}, 'name'), el('th', {}, 'in'), el('th', {}, 'schema'), el('th', {}, 'description')));
  params.forEach((raw) => {
    const p = deref(raw);
    const s = p.schema || {};
    const sd = deref(s);
    table.append(el('tr', {},
      el('td', {}, el('span', { class: 'prop mono' }, p.name), p.required ? el('span', { class: 'req' }, ' required') : ''),
      el('td', {}, p.in),
      el('td', { class: 'mono' }, s.$ref ? el('a', { href: '#schema-' + slug(refName(s.$ref)) }, refName(s.$ref)) : [typeText(sd), constraints(sd) ? ` (${constraints(sd)})` : '']),
      el('td', {}, prose(p.description || '', 'note'))));
  });
  return table;
}

function content(c) {
  const box = el('div');
  for (const [media, m] of Object.entries(c || {})) {
    box.append(el('div', { class: 'media' }, media));
    if (m.schema) box.append(schemaTree(m.schema));
    for (const [type, schema] of Object.entries(m['x-events'] || {})) {
      box.append(el('div', { class: 'note' }, `event: ${type} — data:`), schemaTree(schema));
    }
  }
  return box;
}

function operation(path, method, op, shared) {
  const id = 'op-' + slug(op.operationId || method + path);
  const body = el('div', { class: 'op-body' });
  if (op.description) body.append(prose(op.description));
  const params = [...(shared || []), ...(op.parameters || [])];
  if (params.length) body.append(el('h3', {}, 'Parameters'), paramsTable(params));
  if (op.requestBody) {
    const rb = deref(op.requestBody);
    body.append(el('h3', {}, 'Request body' + (rb.required ? ' (required)' : '')));
    if (rb.description) body.append(prose(rb.description));
    body.append(content(rb.content));
  }
  body.append(el('h3', {}, 'Responses'));
  const table = el('table', {}, el('tr', {}, el('th', {}, 'status'), el('th', {}, 'description and body')));
  for (const [status, raw] of Object.entries(op.responses || {})) {
    const r = deref(raw);
    const cell = el('td', {}, prose(r.description || ''));
    const hdrs = Object.keys(r.headers || {});
    if (hdrs.length) cell.append(el('div', { class: 'note' }, 'headers: ', hdrs.join(', ')));
    if (r.content) cell.append(content(r.content));
    table.append(el('tr', {}, el('td', { class: 'status s' + status[0] }, status), cell));
  }
  body.append(table);
  const details = el('details', { class: 'op', id },
    el('summary', {},
      el('span', { class: 'method m-' + method }, method),
      el('span', { class: 'path' }, path),
      el('span', { class: 'summary' }, op.summary || ''),
      el('span', { class: 'lock' }, securityText(op))),
    body);
  details.dataset.search = [path, method, op.summary, (op.tags || []).join(' ')].join(' ').toLowerCase();
  return details;
}

function render() {
  document.title = `${spec.info.title} — reference`;
  document.getElementById('title').textContent = `${spec.info.title} ${spec.info.version} (OpenAPI ${spec.openapi})`;
  const main = document.getElementById('content');
  const toc = document.getElementById('toc');
  main.replaceChildren(el('h1', {}, spec.info.title), prose(spec.info.description || ''));
  const tags = (spec.tags || []).map((t) => t.name);
  const byTag = new Map(tags.map((t) => [t, []]));
  for (const [path, item] of Object.entries(spec.paths || {})) {
    for (const m of METHODS) {
      if (!item[m]) continue;
      const tag = (item[m].tags || ['other'])[0];
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push([path, m, item[m], item.parameters]);
    }
  }
  for (const [tag, ops] of byTag) {
    if (!ops.length) continue;
    const info = (spec.tags || []).find((t) => t.name === tag) || {};
    const section = el('section', { id: 'tag-' + slug(tag) }, el('h2', {}, tag));
    if (info.description) section.append(prose(info.description, 'note'));
    toc.append(el('div', { class: 'toc-tag' }, tag));
    for (const [path, m, op, shared] of ops) {
      const node = operation(path, m, op, shared);
      section.append(node);
      const link = el('a', { class: 'toc-op', href: '#' + node.id }, el('span', { class: 'method m-' + m }, m), el('span', { class: 'mono' }, path));
      link.dataset.search = node.dataset.search;
      link.addEventListener('click', () => { node.open = true; });
      toc.append(link);
    }
    main.append(section);
  }
  const comps = el('section', { id: 'schemas' }, el('h2', {}, 'Schemas'));
  for (const [name, s] of Object.entries((spec.components || {}).schemas || {})) {
    const d = el('details', { class: 'op', id: 'schema-' + slug(name) },
      el('summary', {}, el('span', { class: 'path' }, name), el('span', { class: 'summary' }, s.description || '')),
      el('div', { class: 'op-body' }, schemaTree(Object.assign({}, s, { description: undefined }))));
    d.dataset.search = ('schema ' + name).toLowerCase();
    comps.append(d);
  }
  main.append(comps);
  const sec = el('section', { id: 'security' }, el('h2', {}, 'Security schemes'));
  for (const [name, s] of Object.entries((spec.components || {}).securitySchemes || {})) {
    sec.append(el('p', {}, el('span', { class: 'prop mono' }, name), ` (${s.type}${s.scheme ? ' ' + s.scheme : ''}${s.in ? ', ' + s.in + ' ' + s.name : ''}): `), prose(s.description || '', 'note'));
  }
  main.append(sec);
  // A link to an operation or schema opens it.
  const openHash = () => {
    const target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
    if (target && target.tagName === 'DETAILS') { target.open = true; target.scrollIntoView(); }
  };
  window.addEventListener('hashchange', openHash);
  openHash();
  document.getElementById('filter').addEventListener('input', (e) => {
    const q = e.target.value.trim().toLowerCase();
    document.querySelectorAll('[data-search]').forEach((n) => { n.hidden = q !== '' && !n.dataset.search.includes(q); });
  });
}

async function main() {
  const status = document.getElementById('status');
  try {
    const r = await fetch('/api/v1/openapi.json', { credentials: 'same-origin' });
    if (!r.ok) throw new Error(`GET /api/v1/openapi.json answered ${r.status}`);
    spec = await r.json();
    render();
  } catch (err) {
    status.className = 'error';
    status.textContent = `Could not load the API description: ${err.message}`;
  }
}

main();
