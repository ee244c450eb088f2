// Sign-up with an invite link (#/signup?invite=…): choose a username and password; the
// account is created and signed in at once. A used, expired or revoked link says so.
import { post } from '../api.js';
import { clearFieldErrors, field, h, notice, setFieldError } from '../ui.js';

const REASONS = {
  invite_used: 'This invite link was already used. Ask the person who sent it for a new one.',
  invite_expired: 'This invite link has expired. Ask the person who sent it for a new one.',
  invite_revoked: 'This invite link was withdrawn. Ask the person who sent it for a new one.',
  not_found: 'This invite link is not valid. Check that you copied all of it.',
};

export function render(main, ctx) {
  const invite = ctx.query.get('invite') || '';
  const username = h('input', { name: 'username', autocomplete: 'username', required: true,
    autocapitalize: 'none', spellcheck: 'false', maxlength: '64' });
  const password = h('input', { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: '8' });
  const error = h('div', { class: 'form-error', role: 'alert', hidden: true });
  const submit = h('button', { type: 'submit', class: 'btn btn-primary btn-block' }, 'Create account');
  const form = h('form', { class: 'stack', novalidate: true },
    field('Choose a username', username, { hint: 'Letters, digits and _ - . @' }),
    field('Choose a password', password, { hint: 'At least 8 characters.' }),
    error, submit);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    error.hidden = true;
    if (!username.value.trim()) return void setFieldError(form, 'username', 'Choose a username.');
    if (password.value.length < 8) return void setFieldError(form, 'password', 'Choose at least 8 characters.');
    submit.disabled = true;
    try {
      const res = await post('/api/v1/auth/signup', { invite, username: username.value.trim(), password: password.value });
      await ctx.signedIn(res.user);
      ctx.navigate('/');
    } catch (e) {
      if (e.code === 'already_exists') {
        setFieldError(form, 'username', 'That username is taken. Choose another.');
      } else if (!(e.field && e.field !== 'invite' && setFieldError(form, e.field, e.message))) {
        error.textContent = REASONS[e.code] || e.message;
        error.hidden = false;
      }
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h('section', { class: 'auth' },
    h('div', { class: 'auth-card card' },
      h('div', { class: 'auth-brand' },
        h('img', { src: '/favicon.svg', alt: '', width: '40', height: '40' }),
        h('div', null, h('h1', null, 'Join Storyloom'),
          h('p', { class: 'muted' }, 'You were invited to this server. Create your account.'))),
      invite ? form : notice('This page needs the whole invite link. Open the link you were sent.', 'warning'),
      h('p', { class: 'hint center' }, 'Already have an account? ', h('a', { href: '#/login' }, 'Sign in')))));
  if (invite) username.focus();
}
