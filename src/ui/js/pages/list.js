// Experiments: status filters, search, and the list.
import {api, can} from '../api.js';
import {empty, errorBox, h, loading, mount, statusBadge, when} from '../dom.js';

const FILTERS = [
  ['active', 'Active'], ['draft', 'Drafts'], ['completed', 'Completed'], ['archived', 'Archived'], ['all', 'All'],
];

export async function render(main, {query}) {
  const status = query.get('status') || 'active';
  const q = query.get('q') || '';
  const results = h('div', {id: 'experiment-list', 'aria-live': 'polite'}, loading());
  const search = h('input', {type: 'search', id: 'search', value: q, placeholder: 'Code, name or description',
    'aria-label': 'Search experiments'});
  const form = h('form', {class: 'filters', role: 'search'},
    h('div', {class: 'tabs', role: 'group', 'aria-label': 'Status'},
      FILTERS.map(([key, label]) => h('a', {href: `#/experiments?status=${key}${q ? `&q=${encodeURIComponent(q)}` : ''}`,
        class: 'tab', id: `filter-${key}`, 'aria-current': key === status ? 'true' : null}, label))),
    search, h('button', {type: 'submit'}, 'Search'));
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const term = search.value.trim();
    location.hash = `#/experiments?status=${status}${term ? `&q=${encodeURIComponent(term)}` : ''}`;
  });
  mount(main,
    h('div', {class: 'page-head'}, h('h1', {}, 'Experiments'),
      can('experiments:write') ? h('a', {class: 'button primary', href: '#/experiments/new', id: 'new-experiment'}, 'New experiment') : null),
    form, results);
  try {
    const data = await api('GET', '/api/experiments', {query: {status: status === 'all' ? null : status, q, limit: 200}});
    const rows = data.experiments || [];
    if (!rows.length) {
      mount(results, empty(q ? `No ${status === 'all' ? '' : status + ' '}experiment matches “${q}”.`
        : `No ${status === 'all' ? '' : status + ' '}experiments yet.`));
      return;
    }
    mount(results, h('table', {class: 'list'},
      h('caption', {class: 'sr-only'}, 'Experiments'),
      h('thead', {}, h('tr', {}, ['Experiment', 'Status', 'Kind', 'Variants', 'Started', 'Updated'].map((t) => h('th', {scope: 'col'}, t)))),
      h('tbody', {}, rows.map((e) => h('tr', {dataset: {code: e.code}},
        h('td', {}, h('a', {href: `#/experiments/${encodeURIComponent(e.code)}`}, e.name || e.code),
          h('div', {class: 'muted'}, e.code, e.organization ? ` · ${e.organization}` : '')),
        h('td', {}, statusBadge(e.status), e.promoted_variant ? h('span', {class: 'badge promoted'}, `promoted: ${e.promoted_variant}`) : null),
        h('td', {}, e.kind),
        h('td', {}, (e.variants || []).map((v) => v.key + (v.is_control ? ' (control)' : '')).join(', ')),
        h('td', {}, when(e.started_at)),
        h('td', {}, when(e.updated_at)))))),
      data.total > rows.length ? h('p', {class: 'muted'}, `Showing ${rows.length} of ${data.total}.`) : null);
  } catch (e) {
    mount(results, errorBox(e));
  }
}
