// The pieces of the guided form: labelled fields, variant and metric rows, and errors shown at
// the field they are about (by the field's path in the document, as the API names it).
import {h} from '../dom.js';

const idOf = (path) => 'f-' + path.replace(/[[\].]+/g, '-').replace(/-$/, '');

export function field(path, label, input, help) {
  input.id = idOf(path);
  input.dataset.field = path;
  const helpEl = help ? h('p', {class: 'help', id: `${input.id}-help`}, help) : null;
  if (helpEl) input.setAttribute('aria-describedby', helpEl.id);
  const wrap = h('div', {class: 'field'}, h('label', {for: input.id}, label), input, helpEl);
  return {wrap, input};
}

function cell(part, label, input) {
  input.dataset.part = part;
  return h('div', {class: `cell cell-${part}`}, h('label', {}, label), input);
}

// Inputs and labels get their ids from the row's place, renumbered after an add or a removal.
export function renumber(rows, base) {
  rows.dataset.field = base;
  [...rows.children].forEach((row, i) => {
    row.querySelectorAll('[data-part]').forEach((input) => {
      const path = `${base}[${i}].${input.dataset.part}`;
      input.id = idOf(path);
      input.dataset.field = path;
      const label = input.previousElementSibling;
      if (label && label.tagName === 'LABEL') label.htmlFor = input.id;
    });
    row.dataset.field = `${base}[${i}]`;
    row.setAttribute('aria-label', `${base.split('.').pop()} ${i + 1}`);
  });
}

export function variantRow(v, {draft, removable, onchange, onremove}) {
  const key = h('input', {type: 'text', value: v.key || '', required: true, disabled: !draft && !!v.key, pattern: '[A-Za-z0-9_.\\-]{1,64}'});
  const control = h('input', {type: 'radio', name: 'control', checked: !!v.is_control, disabled: !draft});
  const weight = h('input', {type: 'number', min: 0, max: 100, step: 'any', value: v.weight ?? 0, required: true});
  weight.addEventListener('input', onchange);
  const row = h('div', {class: 'row variant', role: 'group'},
    cell('key', 'Key', key),
    cell('name', 'Name', h('input', {type: 'text', value: v.name || ''})),
    cell('weight', 'Weight (%)', weight),
    cell('control', 'Control', control),
    cell('config', 'Config (JSON)', h('textarea', {rows: 1, spellcheck: 'false', value: JSON.stringify(v.config || {})})),
    removable ? h('button', {type: 'button', class: 'remove', 'aria-label': 'Remove this variant',
      onclick: () => { row.remove(); onremove(); }}, '×') : null);
  return row;
}

const KINDS = ['rate', 'count', 'sum', 'avg'];

export function metricRow(m, {path, fixed, guardrail, onremove}) {
  const kind = h('select', {}, KINDS.map((k) => h('option', {value: k}, k)));
  kind.value = m.kind || 'rate';
  const objective = h('select', {}, h('option', {value: 'maximize'}, 'higher is better'), h('option', {value: 'minimize'}, 'lower is better'));
  objective.value = m.objective || (guardrail ? 'minimize' : 'maximize');
  const row = h('div', {class: 'row metric', role: 'group'},
    cell('key', 'Key', h('input', {type: 'text', value: m.key || '', pattern: '[A-Za-z0-9_.\\-]{1,64}'})),
    cell('kind', 'Kind', kind),
    cell('event', 'Event', h('input', {type: 'text', value: m.event || m.numerator || '', placeholder: 'purchase'})),
    cell('objective', 'Objective', objective),
    fixed ? null : h('button', {type: 'button', class: 'remove', 'aria-label': 'Remove this metric',
      onclick: () => { row.remove(); onremove(); }}, '×'));
  if (path) {
    row.querySelectorAll('[data-part]').forEach((input) => {
      input.id = idOf(`${path}.${input.dataset.part}`);
      input.dataset.field = `${path}.${input.dataset.part}`;
      input.previousElementSibling.htmlFor = input.id;
    });
  }
  return row;
}

export function clearErrors(form) {
  form.querySelectorAll('.field-error').forEach((e) => e.remove());
  form.querySelectorAll('[aria-invalid]').forEach((e) => {
    e.removeAttribute('aria-invalid');
    const d = (e.getAttribute('aria-describedby') || '').split(' ').filter((x) => !x.endsWith('-error'));
    if (d.length) e.setAttribute('aria-describedby', d.join(' '));
    else e.removeAttribute('aria-describedby');
  });
}

// Shows `message` at the input of `path`, or at the nearest enclosing part of the form
// ("variants[1].config.color" → the config of variant 2; "variants" → the variants list).
// "variants[1].key" → "Variant 2, key": the page's words for a document path.
export function humanize(path) {
  return path
    .replace(/^variants\[(\d+)\]/, (_, i) => `Variant ${+i + 1},`)
    .replace(/^metrics\.primary/, 'Primary metric,')
    .replace(/^metrics\.secondary\[(\d+)\]/, (_, i) => `Secondary metric ${+i + 1},`)
    .replace(/^metrics\.guardrails\[(\d+)\]/, (_, i) => `Guardrail ${+i + 1},`)
    .replace(/^winner_policy\./, 'Winner policy, ')
    .replace(/^variants$/, 'Variants')
    .replace(/[._]/g, ' ').replace(/,$/, '').replace(/^./, (c) => c.toUpperCase());
}

export function showFieldError(form, path, message) {
  let p = path;
  let target = null;
  while (p) {
    target = form.querySelector(`[data-field="${CSS.escape(p)}"]`);
    if (target) break;
    const up = p.replace(/(\.[^.[\]]+|\[\d+\])$/, '');
    if (up === p) break;
    p = up;
  }
  if (!target) target = form;
  const id = `${target.id || 'form'}-error`;
  const msg = h('p', {class: 'field-error', id}, `${humanize(path)}: ${message}`);
  if (target.matches('input, select, textarea')) {
    target.setAttribute('aria-invalid', 'true');
    target.setAttribute('aria-describedby', `${target.getAttribute('aria-describedby') || ''} ${id}`.trim());
    target.closest('.cell, .field').append(msg);
  } else {
    target.setAttribute('aria-invalid', 'true');
    target.after(msg);
  }
}
