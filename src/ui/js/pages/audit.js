// The audit log with filters, the hash chain's verification, policy denials, and job runs with
// their failures.
import {api, can, session} from '../api.js';
import {empty, errorBox, h, loading, mount, panel, when} from '../dom.js';

const FILTERS = [['experiment', 'Experiment', 'text'], ['actor', 'Actor', 'text'], ['action', 'Action (prefix)', 'text'],
  ['from', 'From', 'datetime-local'], ['to', 'To', 'datetime-local']];

export async function render(main, {query}) {
  const inputs = {};
  const form = h('form', {class: 'filters audit-filters', id: 'audit-filters'},
    FILTERS.map(([key, label, type]) => {
      inputs[key] = h('input', {type, id: `audit-${key}`, value: query.get(key) || ''});
      return h('div', {class: 'field'}, h('label', {for: inputs[key].id}, label), inputs[key]);
    }),
    h('div', {class: 'field'}, h('label', {for: 'audit-outcome'}, 'Outcome'),
      inputs.outcome = h('select', {id: 'audit-outcome'}, h('option', {value: ''}, 'any'), h('option', {value: 'ok'}, 'ok'),
        h('option', {value: 'denied'}, 'denied (incl. policy denials)'))),
    h('button', {type: 'submit', class: 'primary'}, 'Filter'));
  inputs.outcome.value = query.get('outcome') || '';
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const q = new URLSearchParams();
    for (const [k, el] of Object.entries(inputs)) if (el.value) q.set(k, el.value);
    location.hash = `#/audit?${q}`;
  });
  const chain = h('div', {id: 'chain'}, loading('Verifying the chain…'));
  const log = h('div', {id: 'audit-log'}, loading());
  const denials = h('div', {id: 'denials'});
  const jobs = h('div', {id: 'jobs'});
  mount(main, h('h1', {}, 'Audit'),
    can('audit:read') ? [panel('Chain', chain), panel('Log', form, log), panel('Policy denials', denials)] : null,
    can('meta:read') ? panel('Jobs', jobs) : null);

  const params = {};
  for (const [k] of [...FILTERS, ['outcome']]) {
    let v = query.get(k);
    if (v && (k === 'from' || k === 'to')) v = new Date(v + 'Z').toISOString();
    if (v) params[k] = v;
  }
  const tasks = [];
  if (can('audit:read')) {
    tasks.push(api('GET', '/api/audit/verify').then((v) => mount(chain, h('p', {class: v.ok ? 'ok' : 'bad', id: 'chain-status'},
      v.ok ? (v.scope === 'organization'
        ? `✓ The whole chain verifies (this organization's ${v.checked} entries included).`
        : `✓ The chain verifies: ${v.checked} entries, head #${v.head_seq} (${v.head_hash.slice(0, 16)}…).`)
        : `✗ The chain is broken${v.broken_seq ? ` at entry #${v.broken_seq}` : ''}: ${v.reason}`))).catch((e) => mount(chain, errorBox(e))));
    tasks.push(loadLog(log, params));
    tasks.push(api('GET', '/api/audit', {query: {action: 'policy.deny', limit: 20}}).then((d) => mount(denials,
      d.entries.length ? entriesTable(d.entries, 'denials-table') : empty('No policy denials.'))).catch((e) => mount(denials, errorBox(e))));
  }
  if (can('meta:read')) tasks.push(loadJobs(jobs));
  await Promise.all(tasks);
}

async function loadLog(box, params, before) {
  try {
    const d = await api('GET', '/api/audit', {query: {...params, before, limit: 100}});
    const table = d.entries.length ? entriesTable(d.entries, 'audit-table') : empty('No entry matches these filters.');
    const more = d.next_before ? h('button', {type: 'button', id: 'audit-more', onclick: async (ev) => {
      ev.target.remove();
      const extra = h('div', {});
      box.append(extra);
      await loadLog(extra, params, d.next_before);
    }}, 'Older entries') : null;
    mount(box, table, more);
  } catch (e) {
    mount(box, errorBox(e));
  }
}

function entriesTable(entries, id) {
  return h('div', {class: 'table-wrap'}, h('table', {class: 'audit', id},
    h('thead', {}, h('tr', {}, ['#', 'When', 'Actor', 'Action', 'Target', 'Outcome', 'Change'].map((t) => h('th', {scope: 'col'}, t)))),
    h('tbody', {}, entries.map((e) => h('tr', {class: e.outcome === 'ok' ? '' : 'denied', dataset: {action: e.action}},
      h('td', {}, e.seq), h('td', {}, when(e.at)),
      h('td', {}, e.actor, e.subject ? h('div', {class: 'muted'}, e.subject) : null),
      h('td', {}, e.action), h('td', {}, e.experiment || e.target),
      h('td', {}, e.outcome, e.error_code ? ` (${e.error_code})` : ''),
      h('td', {}, h('details', {}, h('summary', {}, 'change'), h('pre', {}, JSON.stringify(e.change, null, 2)))))))));
}

async function loadJobs(box) {
  try {
    const d = await api('GET', '/api/jobs', {query: {limit: 50}});
    if (!d.jobs.length && session.me.organization) {
      mount(box, empty(`The scheduler's jobs belong to the platform, not to ${session.me.organization}: a platform ops admin (signed in without an organization) sees them and their runs.`));
      return;
    }
    mount(box,
      h('table', {class: 'jobs', id: 'jobs-table'},
        h('thead', {}, h('tr', {}, ['Job', 'Enabled', 'Last run', 'Last status', 'Failures (24 h)'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, d.jobs.map((j) => h('tr', {class: j.failures_24h ? 'denied' : ''},
          h('th', {scope: 'row'}, j.name), h('td', {}, j.enabled ? 'yes' : 'no'), h('td', {}, when(j.last_run_at)),
          h('td', {}, j.last_status || '–'), h('td', {}, j.failures_24h ?? 0))))),
      h('h3', {}, 'Recent runs'),
      d.runs.length ? h('div', {class: 'table-wrap'}, h('table', {class: 'runs', id: 'runs-table'},
        h('thead', {}, h('tr', {}, ['Job', 'Started', 'Finished', 'Status', 'Error'].map((t) => h('th', {scope: 'col'}, t)))),
        h('tbody', {}, d.runs.map((r) => h('tr', {class: r.status === 'succeeded' || r.status === 'running' ? '' : 'denied'},
          h('td', {}, r.job), h('td', {}, when(r.started_at)), h('td', {}, when(r.finished_at)), h('td', {}, r.status),
          h('td', {}, r.sqlstate ? `${r.sqlstate}: ${r.message}` : '')))))) : empty('No job has run yet.'));
  } catch (e) {
    mount(box, errorBox(e));
  }
}
