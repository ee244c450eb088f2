// Checks the HTTP exchanges the C++ integration tests recorded (STORYLOOM_RECORD_EXCHANGES,
// tests/support/http_client.cc) against docs/openapi.yaml:
//   - the path matches a path template of the description (or, under /api/, answers the
//     error format with 404, or 405 with Allow);
//   - the method is described there (HEAD follows GET), else 405 with Allow;
//   - the status is documented for the operation, or is one of x-server-wide-responses;
//   - headers the description marks `required` are present, and documented headers that are
//     present match their schema;
//   - the Content-Type is one the response documents, and the body (JSON, or each SSE
//     `data:` line against the x-events schema of its `event:` type) validates against its schema (ajv, JSON Schema
//     2020-12, as OpenAPI 3.1 says).
// Usage: node validate-exchanges.mjs DIR [--spec docs/openapi.yaml]
// Exit 0 when every exchange conforms, 1 otherwise (each failure names the exchange: file,
// line, test, method, target, status); 2 when there is nothing to check.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import YAML from 'yaml';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let specPath = path.resolve(here, '../../docs/openapi.yaml');
const dirs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--spec') specPath = path.resolve(args[++i]);
  else dirs.push(args[i]);
}
if (dirs.length !== 1) {
  console.error('usage: validate-exchanges.mjs DIR [--spec openapi.yaml]');
  process.exit(2);
}

const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
const SPEC_ID = 'https://storyloom.invalid/openapi.json';

// Every local $ref becomes absolute, so inline schemas compiled on their own resolve
// into the one registered document.
function absolutize(node) {
  if (Array.isArray(node)) return node.map(absolutize);
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node)) {
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? SPEC_ID + v : absolutize(v);
    }
    return out;
  }
  return node;
}
const abs = absolutize(spec);
const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
ajv.addSchema({ $id: SPEC_ID, components: abs.components });

function resolve(obj) {
  let n = 0;
  while (obj && obj.$ref && n++ < 20) {
    const ptr = obj.$ref.replace(SPEC_ID, '');
    obj = ptr.slice(2).split('/').reduce((o, k) => (o ? o[k.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined), abs);
  }
  return obj;
}

const compiled = new Map();
function validator(schema, key) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(schema));
  return compiled.get(key);
}

// Path templates, most literal first: "/files/{path}" (x-greedy) takes the rest of the path.
const templates = Object.keys(spec.paths).map((p) => {
  const item = abs.paths[p];
  const greedy = new Set((item.parameters || []).map(resolve).filter((x) => x && x['x-greedy']).map((x) => x.name));
  const re = new RegExp('^' + p.split('/').map((seg) => {
    const m = /^\{(.+)\}$/.exec(seg);
    if (!m) return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    return greedy.has(m[1]) ? '.+' : '[^/]+';
  }).join('/') + '$');
  const literal = p.split('/').filter((s) => !s.startsWith('{')).length;
  return { path: p, re, literal };
}).sort((a, b) => b.literal - a.literal);

const serverWide = new Set(spec['x-server-wide-responses'] || []);
const errorSchemaRef = { $ref: SPEC_ID + '#/components/schemas/Error' };
const operationsSeen = new Set();
const failures = [];
let checked = 0, outside = 0, skippedBodies = 0;

function fail(ex, msg) {
  failures.push(`${ex.where} [${ex.test || 'no test'}] ${ex.method} ${ex.path}${ex.query ? '?' + ex.query : ''} -> ${ex.status}: ${msg}`);
}

function ajvErrors(v) {
  return (v.errors || []).slice(0, 6).map((e) => `${e.instancePath || '(body)'} ${e.message}${e.params && e.params.additionalProperty ? ` '${e.params.additionalProperty}'` : ''}${e.params && e.params.unevaluatedProperty ? ` '${e.params.unevaluatedProperty}'` : ''}`).join('; ');
}

function checkErrorBody(ex) {
  if (ex.method === 'HEAD') return;
  if (!(ex.content_type || '').startsWith('application/json')) return fail(ex, `error answer with Content-Type '${ex.content_type}', not application/json`);
  let body;
  try { body = JSON.parse(ex.body); } catch { return fail(ex, 'error body is not JSON'); }
  const v = validator(errorSchemaRef, 'Error');
  if (!v(body)) fail(ex, `error body does not match Error: ${ajvErrors(v)}`);
}

function mediaMatches(documented, actual) {
  if (documented === '*/*') return true;
  const base = (actual || '').split(';')[0].trim().toLowerCase();
  if (documented.endsWith('/*')) return base.startsWith(documented.slice(0, -1));
  return base === documented.toLowerCase();
}

function checkExchange(ex) {
  checked++;
  const tpl = templates.find((t) => t.re.test(ex.path));
  if (!tpl) {
    if (!ex.path.startsWith('/api/')) { outside++; return; }  // the web UI's files
    if (ex.status === 404 || ex.status === 405 || serverWide.has(String(ex.status))) return checkErrorBody(ex);
    return fail(ex, 'no path of the description matches, and the answer is not a 404');
  }
  const item = abs.paths[tpl.path];
  let method = ex.method.toLowerCase();
  if (!item[method] && method === 'head' && item.get) method = 'get';
  const op = item[method];
  if (!op) {
    if (ex.status === 405) {
      if (!ex.headers || !ex.headers.allow) fail(ex, '405 without an Allow header');
      return checkErrorBody(ex);
    }
    if (serverWide.has(String(ex.status)) && ex.status !== 405) return checkErrorBody(ex);
    return fail(ex, `${ex.method} is not described for ${tpl.path}, and the answer is not a 405`);
  }
  const opKey = `${method.toUpperCase()} ${tpl.path}`;
  operationsSeen.add(opKey);
  const status = String(ex.status);
  let resp = op.responses[status] || op.responses[status[0] + 'XX'];
  if (!resp) {
    if (serverWide.has(status)) return checkErrorBody(ex);
    return fail(ex, `status ${status} is not documented for ${opKey} (documented: ${Object.keys(op.responses).join(', ')})`);
  }
  resp = resolve(resp);
  // Headers.
  for (const [name, raw] of Object.entries(resp.headers || {})) {
    const h = resolve(raw);
    const got = ex.headers ? ex.headers[name.toLowerCase()] : undefined;
    const recorded = ['location', 'retry-after', 'www-authenticate', 'allow', 'content-range', 'idempotent-replayed',
      'cache-control', 'etag', 'x-content-type-options', 'content-disposition'].includes(name.toLowerCase());
    if (!recorded) continue;
    if (got === undefined) {
      if (h.required) fail(ex, `required header ${name} is missing`);
      continue;
    }
    if (h.schema) {
      const v = validator(h.schema, `${opKey} ${status} header ${name}`);
      if (!v(got)) fail(ex, `header ${name}: '${got}' ${ajvErrors(v)}`);
    }
  }
  if (ex.method === 'HEAD' || ex.status === 204 || ex.status === 304) {
    if (ex.body_size > 0) fail(ex, `a ${ex.method} ${status} answer has a body`);
    return;
  }
  const content = resp.content || {};
  const medias = Object.keys(content);
  if (medias.length === 0) {
    if (ex.body_size > 0 && (ex.content_type || '').startsWith('application/json')) {
      fail(ex, `${opKey} ${status} documents no body, but the answer has ${ex.body_size} bytes of JSON`);
    }
    return;
  }
  const media = medias.find((m) => mediaMatches(m, ex.content_type));
  if (!media) return fail(ex, `Content-Type '${ex.content_type}' is not documented for ${opKey} ${status} (documented: ${medias.join(', ')})`);
  const mt = content[media];
  if (ex.body === undefined) {
    if (ex.body_truncated) skippedBodies++;
    return;  // not a JSON or event-stream answer: its bytes are not recorded
  }
  if (media.startsWith('application/json') && mt.schema) {
    let body;
    try { body = JSON.parse(ex.body); } catch { return fail(ex, 'the body is not JSON'); }
    const v = validator(mt.schema, `${opKey} ${status} ${media}`);
    if (!v(body)) fail(ex, `body does not match the schema: ${ajvErrors(v)}`);
  } else if (media === 'text/event-stream' && mt['x-events']) {
    for (const block of ex.body.split(/\n\n/)) {
      const lines = block.split('\n');
      const data = lines.filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n');
      if (!data) continue;
      const type = (lines.find((l) => l.startsWith('event:')) || 'event: message').slice(6).trim();
      const schema = mt['x-events'][type];
      if (!schema) { fail(ex, `event type '${type}' is not described (x-events: ${Object.keys(mt['x-events']).join(', ')})`); continue; }
      let j;
      try { j = JSON.parse(data); } catch { fail(ex, `event data is not JSON: ${data.slice(0, 80)}`); continue; }
      const v = validator(schema, `${opKey} ${status} event ${type}`);
      if (!v(j)) fail(ex, `'${type}' event ${data.slice(0, 100)} does not match its schema: ${ajvErrors(v)}`);
    }
  }
}

const dir = dirs[0];
const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.jsonl')).sort() : [];
let full = 0;
for (const f of files) {
  const lines = fs.readFileSync(path.join(dir, f), 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!line) return;
    let ex;
    try { ex = JSON.parse(line); } catch { failures.push(`${f}:${i + 1}: not a JSON line`); return; }
    if (ex.log_full) { full++; return; }
    ex.where = `${f}:${i + 1}`;
    checkExchange(ex);
  });
}
if (checked === 0) {
  console.error(`validate-exchanges: no recorded exchanges in ${dir}`);
  process.exit(2);
}
const allOps = [];
for (const [p, item] of Object.entries(spec.paths)) {
  for (const m of ['get', 'put', 'post', 'delete', 'patch', 'head']) if (item[m]) allOps.push(`${m.toUpperCase()} ${p}`);
}
const missing = allOps.filter((o) => !operationsSeen.has(o));
console.log(`validate-exchanges: ${checked} exchanges from ${files.length} processes; ${operationsSeen.size}/${allOps.length} operations exercised; ${outside} outside the API (web UI files)${skippedBodies ? `; ${skippedBodies} bodies over 1 MiB not checked` : ''}${full ? `; ${full} logs hit their size cap` : ''}`);
if (missing.length) console.log(`  operations no test exercised: ${missing.join(', ')}`);
if (failures.length) {
  const shown = failures.slice(0, 60);
  console.error(`\n${failures.length} exchange(s) do not match ${path.relative(process.cwd(), specPath)}:`);
  for (const f of shown) console.error('  ' + f);
  if (failures.length > shown.length) console.error(`  … and ${failures.length - shown.length} more`);
  process.exit(1);
}
