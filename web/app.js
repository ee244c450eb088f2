// The Storyloom browser app: session, navigation and a tiny hash router. Each page module
// exports render(main, ctx) and may return a cleanup function (closes its live streams).
import { get, post, setUnauthenticatedHandler } from './api.js';
import { clear, errorBox, toast } from './ui.js';
import * as loginPage from './pages/login.js';
import * as listPage from './pages/stories.js';
import * as newPage from './pages/new_story.js';
import * as workflowPage from './pages/workflow.js';
import * as analyticsPage from './pages/analytics.js';
import * as adminPage from './pages/admin.js';
import * as accountPage from './pages/account.js';
import * as signupPage from './pages/signup.js';

const state = { user: null, cleanup: null, seq: 0 };

const routes = [
  { re: /^\/login$/, page: loginPage, nav: null, public: true, title: 'Sign in' },
  { re: /^\/signup$/, page: signupPage, nav: null, public: true, title: 'Join' },
  { re: /^\/?$/, page: listPage, nav: 'stories', title: 'Stories' },
  { re: /^\/new$/, page: newPage, nav: 'new', title: 'New story' },
  { re: /^\/w\/([0-9a-fA-F-]{8,64})$/, page: workflowPage, nav: 'stories', title: 'Story' },
  { re: /^\/analytics$/, page: analyticsPage, nav: 'analytics', title: 'Analytics' },
  { re: /^\/account$/, page: accountPage, nav: 'account', title: 'Your account' },
  { re: /^\/admin(?:\/(users|tokens|operations|database|audit))?$/, page: adminPage, nav: 'admin', title: 'Admin' },
];

function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = raw.split('?');
  return { path: path || '/', query: new URLSearchParams(query) };
}

export function navigate(path) {
  if (location.hash === '#' + path) route();
  else location.hash = path;
}

function renderShell() {
  const bar = document.getElementById('topbar');
  const signedIn = !!state.user;
  bar.hidden = !signedIn;
  if (!signedIn) return;
  const admin = state.user.role === 'admin';
  document.getElementById('who').textContent = state.user.username + (admin ? ' · admin' : '');
  for (const a of document.querySelectorAll('[data-admin-only]')) a.hidden = !admin;
}

function markNav(nav) {
  for (const a of document.querySelectorAll('[data-nav]')) {
    if (a.dataset.nav === nav) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
}

async function loadUser() {
  try {
    state.user = await get('/api/v1/me', { quiet401: true });
  } catch (e) {
    if (e.status === 401) state.user = null;
    else throw e;
  }
}

async function route() {
  const seq = ++state.seq;
  const { path, query } = parseHash();
  const match = routes.map((r) => ({ r, m: path.match(r.re) })).find((x) => x.m);
  if (state.cleanup) {
    try {
      state.cleanup();
    } catch { /* a page's cleanup must not stop navigation */ }
    state.cleanup = null;
  }
  const main = document.getElementById('main');
  if (!match) {
    navigate('/');
    return;
  }
  const { r, m } = match;
  if (!r.public && !state.user) {
    const next = path !== '/' ? `?next=${encodeURIComponent(path)}` : '';
    location.replace(`#/login${next}`);
    return;
  }
  if (r.page === loginPage && state.user) {
    location.replace('#/');
    return;
  }
  renderShell();
  markNav(r.nav);
  document.title = `${r.title} · Storyloom`;
  clear(main);
  const ctx = {
    user: state.user,
    params: m.slice(1),
    query,
    navigate,
    setTitle: (t) => (document.title = `${t} · Storyloom`),
    signedIn: async (user) => {
      state.user = user;
      renderShell();
    },
    isCurrent: () => seq === state.seq,
  };
  try {
    const cleanup = await r.page.render(main, ctx);
    if (seq === state.seq) state.cleanup = typeof cleanup === 'function' ? cleanup : null;
    else if (typeof cleanup === 'function') cleanup();
  } catch (e) {
    if (seq !== state.seq) return;
    clear(main).append(errorBox(e, () => route()));
  }
  if (seq === state.seq && document.activeElement === document.body) main.focus({ preventScroll: true });
}

async function signOut() {
  try {
    await post('/api/v1/auth/logout');
  } catch (e) {
    if (e.status !== 401) {
      toast(e.message, 'error');
      return;
    }
  }
  state.user = null;
  renderShell();
  toast('You are signed out.');
  location.hash = '#/login';
}

async function boot() {
  setUnauthenticatedHandler(() => {
    if (!state.user) return;
    state.user = null;
    renderShell();
    toast('Your session has ended. Please sign in again.', 'error');
    location.hash = '#/login';
  });
  document.getElementById('signout').addEventListener('click', signOut);
  window.addEventListener('hashchange', route);
  try {
    await loadUser();
  } catch (e) {
    document.getElementById('boot')?.remove();
    document.getElementById('main').append(errorBox(e, () => location.reload()));
    return;
  }
  // A login link lands on "/" after setting the cookie; history routes map onto hash routes.
  if (!location.hash && location.pathname !== '/' && location.pathname !== '/index.html') {
    history.replaceState(null, '', '/#' + location.pathname + location.search);
  }
  route();
}

boot();
