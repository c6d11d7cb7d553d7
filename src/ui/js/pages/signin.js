// Sign-in with a token (a JWT the gateway accepts); make demo prints a link that carries one.
import {errorBox, h, mount} from '../dom.js';

export function render(main, {onToken, error}) {
  const input = h('textarea', {id: 'token', rows: 5, required: true, spellcheck: 'false', autocomplete: 'off',
    'aria-describedby': 'token-help', placeholder: 'eyJhbGciOi…'});
  const status = h('div', {id: 'signin-status'}, error ? errorBox(error) : null);
  const button = h('button', {type: 'submit', class: 'primary'}, 'Sign in');
  const form = h('form', {class: 'signin', 'aria-labelledby': 'signin-title'},
    h('h1', {id: 'signin-title'}, 'Sign in to abx'),
    h('label', {for: 'token'}, 'Access token'),
    input,
    h('p', {id: 'token-help', class: 'help'},
      'Paste a JWT issued for abx-http (', h('code', {}, 'abx-http token --role abx_experimenter'),
      '). It is kept in this tab only and sent to this server only.'),
    button, status);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) {
      mount(status, errorBox({title: 'Token:', message: 'paste a token first.'}));
      input.focus();
      return;
    }
    button.disabled = true;
    mount(status, h('p', {class: 'loading'}, 'Checking the token…'));
    try {
      await onToken(token);
    } catch (e) {
      mount(status, errorBox(e));
      input.focus();
    } finally {
      button.disabled = false;
    }
  });
  mount(main, form);
  input.focus();
}
