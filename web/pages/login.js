// Sign-in page: username and password, or the one-time link printed at first start.
import { post } from '../api.js';
import { h, notice } from '../ui.js';

export function render(main, ctx) {
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const username = h('input', { name: 'username', id: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', id: 'password', type: 'password',
    autocomplete: 'current-password', required: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Sign in');
  const form = h('form', { class: 'stack', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'username' }, 'Username'), username),
    h('div', { class: 'field' }, h('label', { for: 'password' }, 'Password'), password),
    error, submit);

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    if (!username.value.trim() || !password.value) {
      error.textContent = 'Enter your username and password.';
      error.hidden = false;
      (username.value.trim() ? password : username).focus();
      return;
    }
    submit.disabled = true;
    submit.textContent = 'Signing in…';
    try {
      const res = await post('/api/v1/auth/login', { username: username.value.trim(), password: password.value },
        { quiet401: true });
      await ctx.signedIn(res.user);
      const next = ctx.query.get('next');
      ctx.navigate(next && next.startsWith('/') && !next.startsWith('//') ? next : '/');
    } catch (e) {
      error.textContent = e.status === 401 ? 'That username and password do not match. Try again.' : e.message;
      error.hidden = false;
      password.select();
      password.focus();
    } finally {
      submit.disabled = false;
      submit.textContent = 'Sign in';
    }
  });

  const expired = ctx.query.get('expired')
    ? notice('That sign-in link was already used or has expired. Sign in with your password instead.', 'warning')
    : null;

  main.append(h('section', { class: 'auth' },
    h('div', { class: 'auth-card card' },
      h('div', { class: 'auth-brand' },
        h('img', { src: '/favicon.svg', alt: '', width: '40', height: '40' }),
        h('div', null, h('h1', null, 'Sign in to Storyloom'),
          h('p', { class: 'muted' }, 'Turn a short prompt into a narrated storyboard.'))),
      expired,
      form,
      h('p', { class: 'hint center' },
        'First start? The server printed a password for ', h('strong', null, 'admin'),
        ' and a one-time sign-in link in its terminal.'))));
  username.focus();
}
