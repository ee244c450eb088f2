// Talking to the Storyloom server: JSON over fetch with the session cookie, the CSRF header
// on every state-changing request, and errors turned into sentences a person can read.

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field || null;
  }
  // True when the server has no such endpoint (an older server, or a feature not built yet).
  get missingEndpoint() {
    return this.status === 404 && /no such API endpoint/i.test(this.rawMessage || '');
  }
}

function cookie(name) {
  for (const part of document.cookie.split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return decodeURIComponent(v.join('='));
  }
  return '';
}

function sentence(text) {
  if (!text) return '';
  const s = String(text).trim();
  const first = s.charAt(0).toUpperCase() + s.slice(1);
  return /[.!?]$/.test(first) ? first : first + '.';
}

// What to say for a status when the server sent no usable message.
function fallbackMessage(status) {
  if (status === 401) return 'Please sign in to continue.';
  if (status === 403) return 'You do not have permission to do that.';
  if (status === 404) return 'That could not be found. It may have been deleted.';
  if (status === 409) return 'That conflicts with the current state. Reload and try again.';
  if (status === 413) return 'That is too large for the server to accept.';
  if (status === 429) return 'Too many requests right now. Wait a moment and try again.';
  if (status === 503) return 'The server is busy or not ready yet. Try again in a moment.';
  if (status >= 500) return 'The server ran into a problem. Try again; if it keeps happening, check the server log.';
  return 'The request could not be completed.';
}

let onUnauthenticated = () => {};
export function setUnauthenticatedHandler(fn) {
  onUnauthenticated = fn;
}

// Calls the API. Resolves with the parsed JSON body (null for 204); rejects with ApiError.
export async function api(method, path, body, { signal, quiet401 = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers, credentials: 'same-origin', signal };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (method !== 'GET' && method !== 'HEAD') {
    const token = cookie('sl_csrf');
    if (token) headers['X-CSRF-Token'] = token;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, 'network', 'Cannot reach the Storyloom server. Check that it is running and try again.');
  }
  if (res.status === 204) return null;
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (res.ok) return data;
  const e = data && data.error ? data.error : {};
  let message = e.message ? sentence(e.message) : fallbackMessage(res.status);
  if (res.status === 429) {
    const after = res.headers.get('Retry-After');
    if (after) message = `Too many requests right now. Try again in ${after} s.`;
  }
  if (res.status >= 500) message = fallbackMessage(res.status);
  const err = new ApiError(res.status, e.code || 'error', message, e.field);
  err.rawMessage = e.message || '';
  if (res.status === 401 && !quiet401) onUnauthenticated(err);
  return Promise.reject(err);
}

export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body, opts) => api('POST', path, body ?? {}, opts);
export const del = (path, opts) => api('DELETE', path, undefined, opts);
export const patch = (path, body, opts) => api('PATCH', path, body, opts);

// Builds a query string from an object, leaving out empty values.
export function qs(params) {
  const u = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') u.set(k, v);
  }
  const s = u.toString();
  return s ? '?' + s : '';
}
