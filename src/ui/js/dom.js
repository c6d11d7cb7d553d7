// Building the page: elements from data, never HTML strings (every value is text, so nothing an
// experiment's name or an audit entry holds can become markup), and the formats used everywhere.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = !!v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function mount(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function pct(x, digits = 2) {
  return x === null || x === undefined || Number.isNaN(x) ? '–' : `${(x * 100).toFixed(digits)} %`;
}

// A probability: "> 99.9 %" rather than a rounded "100.0 %" that would claim certainty.
export function prob(x) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (x > 0.999) return '> 99.9 %';
  if (x < 0.001) return '< 0.1 %';
  return pct(x, 1);
}

export function num(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return '–';
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  return Math.abs(x) >= 1000 ? x.toLocaleString('en-US', {maximumFractionDigits: 1}) : x.toPrecision(digits);
}

export function pval(p) {
  if (p === null || p === undefined || Number.isNaN(p)) return '–';
  return p < 0.0001 ? '< 0.0001' : p.toFixed(4);
}

export function when(ts) {
  if (!ts) return '–';
  const d = new Date(ts);
  return Number.isNaN(d.getTime()) ? String(ts) : d.toISOString().replace('T', ' ').slice(0, 19) + ' UTC';
}

export function interval(lo, hi, f = pct) {
  if (lo === null || lo === undefined || hi === null || hi === undefined) return '–';
  return `${f(lo)} … ${f(hi)}`;
}

export function statusBadge(status) {
  return h('span', {class: `badge status-${status}`}, status);
}

// A section that shows "Loading…" until its content arrives, an error, or an empty message.
export function panel(title, ...children) {
  return h('section', {class: 'panel', 'aria-label': title}, h('h2', {}, title), ...children);
}

export function loading(text = 'Loading…') {
  return h('p', {class: 'loading', role: 'status'}, text);
}

export function empty(text) {
  return h('p', {class: 'empty'}, text);
}

export function errorBox(err) {
  return h('div', {class: 'error', role: 'alert'},
    h('strong', {}, err.title || 'The request failed'), ' ', err.message || String(err),
    err.hint ? h('div', {class: 'hint'}, err.hint) : null);
}
