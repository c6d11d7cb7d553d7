// Promotion: eligibility with every safety check, promote / approve / reject / roll back with a
// reason, and the history. Seed 001's routes (/api/monitoring/experiments/:name/...).
import {can, enc, monitoring, session} from '../api.js';
import {empty, errorBox, h, loading, mount, when} from '../dom.js';
import {notify} from '../app.js';

const STATUS_TEXT = {passed: '✓ passed', failed: '✗ failed', not_configured: '– not required', not_evaluable: '… not evaluable yet'};

export function promotionSection(onChange) {
  const body = h('div', {id: 'promotion-body'}, loading());
  const history = h('div', {id: 'promotion-history'});
  const section = h('section', {class: 'panel', id: 'promotion', 'aria-labelledby': 'promotion-title'},
    h('h2', {id: 'promotion-title'}, 'Promotion'), body, h('h3', {}, 'History'), history);

  async function refresh(doc) {
    const name = enc(doc.code);
    let elig, hist;
    try {
      [elig, hist] = await Promise.all([
        monitoring('GET', `/api/monitoring/experiments/${name}/promote`),
        monitoring('GET', `/api/monitoring/experiments/${name}/history`),
      ]);
    } catch (e) {
      mount(body, errorBox(e));
      return;
    }
    const d = elig.data || {};
    const checks = Object.entries(d.checks || {});
    const pending = d.pendingApproval;
    const actions = h('div', {class: 'actions', id: 'promotion-actions'});
    const reason = h('input', {type: 'text', id: 'promotion-reason', placeholder: 'Why (kept in the audit log)', 'aria-label': 'Reason'});
    const status = h('div', {id: 'promotion-status', 'aria-live': 'assertive'});
    const act = (label, id, run, {needsReason, danger} = {}) => h('button', {type: 'button', id, class: danger ? 'danger' : '',
      onclick: async (ev) => {
        mount(status);
        if (needsReason && !reason.value.trim()) {
          mount(status, errorBox({title: 'Reason:', message: 'give a reason first.'}));
          reason.setAttribute('aria-invalid', 'true');
          reason.focus();
          return;
        }
        reason.removeAttribute('aria-invalid');
        ev.target.disabled = true;
        try {
          const r = await run(reason.value.trim());
          notify(r.message || `${label}: done`, 'ok');
          reason.value = '';
          await onChange();
        } catch (e) {
          mount(status, errorBox(e));
        } finally {
          ev.target.disabled = false;
        }
      }}, label);
    const lifecycle = can('experiments:lifecycle');
    const by = session.me.subject || session.me.role;
    if (lifecycle && doc.promoted_variant)
      actions.append(act('Roll back', 'rollback', (why) => monitoring('DELETE', `/api/monitoring/experiments/${name}/promote`,
        {body: {reason: why, rolledBackBy: by}}), {needsReason: true, danger: true}));
    if (lifecycle && pending) {
      actions.append(act(`Approve ${pending.winner}`, 'approve', (why) => monitoring('POST', `/api/monitoring/experiments/${name}/approve`, {body: why ? {reason: why} : {}})));
      actions.append(act('Reject', 'reject', (why) => monitoring('POST', `/api/monitoring/experiments/${name}/reject`, {body: {reason: why}}), {needsReason: true, danger: true}));
    }
    if (lifecycle && !doc.promoted_variant && d.isEligible && ['running', 'paused'].includes(doc.status))
      actions.append(act(`Promote ${d.winner}`, 'promote', (why) => monitoring('POST', `/api/monitoring/experiments/${name}/promote`,
        {body: {promotionType: 'manual', promotedBy: by, ...(why ? {reason: why} : {})}})));
    mount(body,
      h('p', {id: 'eligibility', class: d.isEligible ? 'ok' : 'warn'},
        doc.promoted_variant ? `Promoted: every subject gets “${doc.promoted_variant}”. ` : '',
        d.isEligible ? `Eligible: “${d.winner}” beats “${d.control}” by ${d.improvement} % with ${d.confidence} % confidence.`
          : `Not eligible yet${d.winner ? ` (leader: ${d.winner})` : ''}.`),
      pending ? h('p', {class: 'warn', id: 'pending-approval'}, `Approval requested for “${pending.winner}” on ${when(pending.requestedAt)} by ${pending.requestedBy}.`) : null,
      h('ul', {class: 'reasons'}, (d.reasons || []).map((r) => h('li', {}, r)), (d.warnings || []).map((w) => h('li', {class: 'warn'}, `Warning: ${w}`))),
      h('table', {class: 'checks', id: 'safety-checks'}, h('caption', {}, 'Safety checks'),
        h('thead', {}, h('tr', {}, h('th', {scope: 'col'}, 'Check'), h('th', {scope: 'col'}, 'Status'), h('th', {scope: 'col'}, 'Detail'))),
        h('tbody', {}, checks.map(([k, c]) => h('tr', {class: `check-${c.status}`, dataset: {check: k}},
          h('th', {scope: 'row'}, k.replace(/_/g, ' ')), h('td', {}, STATUS_TEXT[c.status] || c.status), h('td', {}, c.detail || ''))))),
      actions.children.length ? h('div', {class: 'promote-form'}, h('label', {for: 'promotion-reason'}, 'Reason '), reason, actions) : null,
      status);
    // Seed 001's history: newest first, confidence and improvement in percent.
    const rows = (hist.data && hist.data.history) || [];
    const percent = (x) => (x === null || x === undefined ? '–' : `${x} %`);
    mount(history, rows.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'history', id: 'history-table'},
      h('thead', {}, h('tr', {}, ['Promoted', 'Variant', 'Type', 'By', 'Confidence', 'Improvement', 'Rolled back'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, rows.map((p) => h('tr', {},
        h('td', {}, when(p.promotedAt)), h('td', {}, p.promotedVariantName), h('td', {}, p.promotionType),
        h('td', {}, p.promotedBy || ''), h('td', {}, percent(p.confidence)), h('td', {}, percent(p.improvement)),
        h('td', {class: 'rollback'}, p.rollbackAt ? `${when(p.rollbackAt)} by ${p.rolledBackBy}: ${p.rollbackReason || ''}` : '')))))) : empty('Never promoted.'));
  }
  return {section, refresh};
}
