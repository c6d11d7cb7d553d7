// The ops page: sign-in, then hash routes (#/experiments, #/experiments/new, #/experiments/<code>,
// #/experiments/<code>/edit, #/audit). Every page is drawn from the HTTP API's answers; a button
// is shown only when /api/me says the role holds the right, and the server refuses anyway.
import {api, can, claims, session, setOrganization, signIn, signOut} from './api.js';
import {h, mount} from './dom.js';
import * as audit from './pages/audit.js';
import * as create from './pages/create.js';
import * as experiment from './pages/experiment.js';
import * as list from './pages/list.js';
import * as signin from './pages/signin.js';

const main = document.getElementById('main');
let cleanup = null;

export function notify(text, kind = 'info') {
  const box = document.getElementById('notices');
  const note = h('div', {class: `notice ${kind}`}, text);
  box.append(note);
  while (box.children.length > 3) box.firstElementChild.remove();  // the newest few, not a wall
  setTimeout(() => note.remove(), kind === 'error' ? 10000 : 5000);
}

export function go(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

function parseHash() {
  const [path, q] = location.hash.replace(/^#/, '').split('?');
  return {parts: path.split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q || '')};
}

async function loadMe() {
  session.me = await api('GET', '/api/me');
  const orgs = session.me.organizations || [];
  if (!session.org && session.me.organization) setOrganization(session.me.organization);
  // A role bound to several organizations must act for one: start with the first, the switcher
  // changes it. (A superuser may also act for none.)
  if (!session.org && !session.me.organization && orgs.length && !session.me.superuser) {
    setOrganization(orgs[0].key);
    session.me = await api('GET', '/api/me');
  }
}

function drawChrome() {
  const nav = document.getElementById('nav');
  const here = parseHash().parts;
  const link = (href, text, active) => h('a', {href, 'aria-current': active ? 'page' : null}, text);
  if (!session.me) {
    mount(nav);
    mount(document.getElementById('session'));
    return;
  }
  mount(nav,
    link('#/experiments', 'Experiments', here[0] === 'experiments' && here[1] !== 'new'),
    can('experiments:write') ? link('#/experiments/new', 'New experiment', here[1] === 'new') : null,
    can('audit:read') || can('meta:read') ? link('#/audit', 'Audit', here[0] === 'audit') : null);
  const me = session.me;
  const orgs = me.organizations || [];
  const tokenOrg = (claims() || {}).org;
  let orgControl = null;
  if (tokenOrg || orgs.length <= 1) {
    orgControl = h('span', {class: 'org'}, me.organization || tokenOrg || (orgs[0] && orgs[0].key) || 'no organization');
  } else {
    const select = h('select', {id: 'org-switch', 'aria-label': 'Organization'},
      h('option', {value: ''}, '(no organization)'),
      orgs.map((o) => h('option', {value: o.key, selected: o.key === session.org ? true : null}, o.name || o.key)));
    select.value = session.org;
    select.addEventListener('change', async () => {
      setOrganization(select.value);
      await start();
    });
    orgControl = h('label', {class: 'org'}, 'Organization ', select);
  }
  mount(document.getElementById('session'),
    orgControl,
    h('span', {class: 'who', title: me.subject || ''}, `${me.subject || 'token'} · ${me.role.replace(/^abx_/, '')}`),
    h('button', {type: 'button', class: 'link', id: 'sign-out', onclick: () => {
      signOut();
      document.getElementById('notices').replaceChildren();
      go('#/signin');
    }}, 'Sign out'));
}

async function route() {
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const {parts, query} = parseHash();
  if (!session.token || !session.me || parts[0] === 'signin') {
    drawChrome();
    signin.render(main, {onToken: tryToken});
    return;
  }
  drawChrome();
  main.focus({preventScroll: true});
  let page;
  if (parts[0] === 'audit') page = audit.render(main, {query});
  else if (parts[0] === 'experiments' && parts[1] === 'new') page = create.render(main, {});
  else if (parts[0] === 'experiments' && parts[1] && parts[2] === 'edit') page = create.render(main, {code: parts[1]});
  else if (parts[0] === 'experiments' && parts[1]) page = experiment.render(main, {code: parts[1]});
  else page = list.render(main, {query});
  const result = await page;
  if (typeof result === 'function') cleanup = result;
}

// A token is accepted only when it may read experiments: an application's service token (assign
// and track only) gets a clear refusal instead of an empty page.
async function tryToken(token) {
  signIn(token);
  try {
    await loadMe();
  } catch (e) {
    signOut();
    throw e;
  }
  if (!can('experiments:read')) {
    const role = session.me.role;
    signOut();
    const err = new Error(`the token's role ${role} cannot read experiments (the ops page needs the right experiments:read: an ops admin, experimenter, analyst or reader token).`);
    err.title = 'This token cannot open the ops page:';
    throw err;
  }
  go(location.hash.startsWith('#/signin') || !location.hash ? '#/experiments' : location.hash);
}

async function start() {
  // A demo link carries the token in the fragment, which never reaches a server or a log.
  const m = /^#token=([^&]+)/.exec(location.hash);
  if (m) {
    history.replaceState(null, '', location.pathname + '#/experiments');
    try {
      await tryToken(decodeURIComponent(m[1]));
    } catch (e) {
      signin.render(main, {onToken: tryToken, error: e});
    }
    return;
  }
  if (session.token) {
    try {
      await loadMe();
      if (!can('experiments:read')) signOut();
    } catch (e) {
      signOut();
      drawChrome();
      signin.render(main, {onToken: tryToken, error: e});
      return;
    }
  }
  await route();
}

window.addEventListener('hashchange', route);
window.addEventListener('abx:unauthorized', () => {
  if (!session.me) return;
  signOut();
  notify('Your session has ended (the token expired or was refused): sign in again.', 'error');
  go('#/signin');
});
start();
