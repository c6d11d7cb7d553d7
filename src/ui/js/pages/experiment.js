// One experiment: its state and lifecycle buttons, results and charts, promotion, and its
// document; kept current by the WebSocket (a status or winner change shows without a reload).
import {api, can, enc} from '../api.js';
import {errorBox, h, loading, mount, statusBadge, when} from '../dom.js';
import {notify} from '../app.js';
import {subscribe} from '../live.js';
import {promotionSection} from './promotion.js';
import {resultsSection} from './results.js';

// What each status allows, with the right it needs (the server decides anyway).
const ACTIONS = {
  draft: [['start', 'Start', 'experiments:lifecycle']],
  running: [['pause', 'Pause', 'experiments:lifecycle'], ['complete', 'Complete', 'experiments:lifecycle']],
  paused: [['resume', 'Resume', 'experiments:lifecycle'], ['complete', 'Complete', 'experiments:lifecycle']],
  completed: [['archive', 'Archive', 'experiments:admin']],
  archived: [],
};
const CONFIRM = {complete: 'Complete the experiment? It stops assigning and cannot be resumed.',
  archive: 'Archive the experiment? It leaves the active list for good.'};

export async function render(main, {code}) {
  mount(main, loading());
  let doc;
  try {
    doc = await api('GET', `/api/experiments/${enc(code)}`);
  } catch (e) {
    mount(main, h('h1', {}, code), errorBox(e), h('a', {href: '#/experiments'}, 'Back to the experiments'));
    return;
  }
  const head = h('div', {class: 'page-head'});
  const live = h('span', {id: 'live-state', class: 'live', role: 'status'}, 'connecting…');
  const actionStatus = h('div', {id: 'action-status', 'aria-live': 'assertive'});
  const results = resultsSection();
  const promotion = promotionSection(() => reload());
  const document_ = h('section', {class: 'panel', id: 'document', 'aria-labelledby': 'document-title'});

  function drawHead() {
    const buttons = (ACTIONS[doc.status] || []).filter(([, , right]) => can(right)).map(([action, label]) =>
      h('button', {type: 'button', id: `action-${action}`, class: action === 'archive' || action === 'complete' ? 'danger' : 'primary',
        onclick: (ev) => lifecycle(action, label, ev.target)}, label));
    if (can('experiments:write') && !['completed', 'archived'].includes(doc.status))
      buttons.push(h('a', {class: 'button', id: 'action-edit', href: `#/experiments/${enc(doc.code)}/edit`}, 'Edit'));
    mount(head,
      h('div', {}, h('h1', {}, doc.name),
        h('p', {class: 'muted'}, doc.code, ' · ', doc.kind === 'bandit' ? 'bandit' : 'A/B/n', doc.organization ? ` · ${doc.organization}` : '',
          ` · started ${when(doc.started_at)}`),
        h('p', {}, h('span', {id: 'status'}, statusBadge(doc.status)),
          doc.promoted_variant ? h('span', {class: 'badge promoted', id: 'promoted'}, `promoted: ${doc.promoted_variant}`) : null,
          doc.winner && doc.winner.variant ? h('span', {class: 'badge winner', id: 'winner'}, `winner: ${doc.winner.variant}`) : null,
          ' ', live)),
      h('div', {class: 'actions', id: 'lifecycle'}, buttons));
  }

  function drawDocument() {
    mount(document_, h('h2', {id: 'document-title'}, 'Configuration'),
      h('p', {}, doc.description || ''),
      h('table', {class: 'variants'}, h('caption', {}, 'Variants'),
        h('thead', {}, h('tr', {}, ['Key', 'Name', 'Weight', 'Config'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, doc.variants.map((v) => h('tr', {},
          h('th', {scope: 'row'}, v.key, v.is_control ? ' (control)' : ''), h('td', {}, v.name || ''),
          h('td', {}, `${v.weight} %`), h('td', {}, h('code', {}, JSON.stringify(v.config))))))),
      h('dl', {class: 'spec'},
        h('dt', {}, 'Targeting'), h('dd', {}, h('code', {}, JSON.stringify(doc.targeting || {}))),
        h('dt', {}, 'Coverage'), h('dd', {}, `${+(doc.coverage * 100).toFixed(2)} %`),
        h('dt', {}, 'Metrics'), h('dd', {}, h('code', {}, JSON.stringify(doc.metrics || {}))),
        h('dt', {}, 'Winner policy'), h('dd', {}, h('code', {}, JSON.stringify(doc.winner_policy || {})))));
  }

  // The figures of the experiment as it is now: results, charts, eligibility and history.
  const refreshFigures = () => Promise.all([results.refresh(doc), promotion.refresh(doc)]);

  async function lifecycle(action, label, button) {
    if (CONFIRM[action] && !window.confirm(CONFIRM[action])) return;
    mount(actionStatus);
    button.disabled = true;
    try {
      doc = await api('POST', `/api/experiments/${enc(doc.code)}/${action}`);
      notify(`${label}: ${doc.code} is ${doc.status}.`, 'ok');
      drawHead();
      await refreshFigures();
    } catch (e) {
      mount(actionStatus, errorBox(e));
      button.disabled = false;
    }
  }

  async function reload() {
    try {
      doc = await api('GET', `/api/experiments/${enc(doc.code)}`);
    } catch (e) {
      mount(actionStatus, errorBox(e));
      return;
    }
    drawHead();
    drawDocument();
    await refreshFigures();
  }

  drawHead();
  drawDocument();
  mount(main, head, actionStatus, results.section, promotion.section, document_);
  await refreshFigures();

  const close = subscribe(doc.code, async (msg) => {
    if (msg.type === 'winner') notify(`Live: winner of ${msg.experimentCode} is now ${msg.winnerVariantKey || 'none'}.`, 'ok');
    if (msg.type === 'status') notify(`Live: ${msg.experimentCode} is now ${msg.status}.`, 'ok');
    if (msg.type === 'approval') notify(`Live: promoting ${msg.winnerVariantKey} ${msg.state === 'requested' ? 'waits for approval' : 'was rejected'}.`, 'ok');
    // New figures change the eligibility too; a status or winner change changes everything.
    if (msg.type === 'results') await refreshFigures();
    else await reload();
  }, (state, detail) => {
    live.textContent = state === 'live' ? '● live' : `${state}${detail ? `: ${detail}` : ''}`;
    live.className = `live ${state}`;
  });
  return close;
}
