// The documented HTTP API with the signed-in user's token; nothing else is called. The token
// lives in sessionStorage: it is gone when the tab closes, and never sent anywhere but this origin.

const TOKEN_KEY = 'abx.token';
const ORG_KEY = 'abx.org';

export const session = {
  token: sessionStorage.getItem(TOKEN_KEY),
  org: sessionStorage.getItem(ORG_KEY) || '',
  me: null,  // GET /api/me: role, subject, organization, organizations, rights
};

export function signIn(token) {
  session.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function signOut() {
  session.token = null;
  session.me = null;
  session.org = '';
  sessionStorage.removeItem(TOKEN_KEY);
  sessionStorage.removeItem(ORG_KEY);
}

export function setOrganization(key) {
  session.org = key || '';
  if (key) sessionStorage.setItem(ORG_KEY, key);
  else sessionStorage.removeItem(ORG_KEY);
}

export function can(right) {
  return !!session.me && (session.me.superuser || session.me.rights.includes(right));
}

// The token's claims, for display (expiry, organization); the gateway is what verifies them.
export function claims(token = session.token) {
  try {
    const part = token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
    return JSON.parse(atob(part.padEnd(part.length + (4 - part.length % 4) % 4, '=')));
  } catch {
    return null;
  }
}

const TITLES = {
  0: 'The gateway cannot be reached',
  400: 'The request was refused',
  401: 'You are not signed in, or the token has expired',
  403: 'Not allowed',
  404: 'Not found',
  405: 'Not allowed on this experiment',
  409: 'Not possible in the current state',
  413: 'Too large',
  429: 'Too many requests: wait a moment',
  503: 'The service is unavailable: try again shortly',
  504: 'The database took too long',
};

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.hint = body && body.hint;
    this.title = TITLES[status] || (status >= 500 ? 'The server failed' : `HTTP ${status}`);
    // "invalid body.variants[1].weight: must be a number" names the field it is about.
    const m = /invalid (body|query)\.([^:\s]+):\s*(.*)$/s.exec(this.message);
    this.field = m ? m[2] : null;
    this.fieldMessage = m ? m[3] : null;
  }
}

export async function api(method, path, {query, body} = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query || {}))
    if (v !== undefined && v !== null && v !== '') url.searchParams.set(k, v);
  const headers = {Accept: 'application/json'};
  if (session.token) headers.Authorization = `Bearer ${session.token}`;
  if (session.org) headers['x-org-id'] = session.org;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res;
  try {
    res = await fetch(url, {method, headers, body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (e) {
    throw new ApiError(0, {message: e.message});
  }
  const text = await res.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = {message: text.slice(0, 300)};
  }
  if (!res.ok || (data && data.success === false)) {
    const err = new ApiError(res.status, data);
    if (res.status === 401) window.dispatchEvent(new CustomEvent('abx:unauthorized', {detail: err}));
    throw err;
  }
  return data;
}

// Seed 001's routes answer {success, data, message}.
export async function monitoring(method, path, options) {
  const r = await api(method, path, options);
  return r && typeof r === 'object' && 'data' in r ? r : {data: r, message: ''};
}

export const enc = encodeURIComponent;
