// The results of one experiment: the insight sentence, SRM, fail-fast and guardrail flags, the
// table a statistician expects per metric, and the charts over the looks.
import {api, enc} from '../api.js';
import {chartBox, chartsAvailable, banditCharts, meanChart, sequentialChart} from '../charts.js';
import {empty, errorBox, h, interval, loading, mount, num, pct, prob, pval} from '../dom.js';

export function resultsSection() {
  const summary = h('div', {id: 'insight', 'aria-live': 'polite'}, loading());
  const tables = h('div', {id: 'results-tables'});
  const charts = h('div', {id: 'charts', class: 'charts'});
  const section = h('section', {class: 'panel', id: 'results', 'aria-labelledby': 'results-title'},
    h('h2', {id: 'results-title'}, 'Results'), summary, tables, h('h3', {}, 'Over time'), charts);
  let drawn = [];

  async function refresh(doc) {
    const code = enc(doc.code);
    let results, insights, timeline;
    try {
      [results, insights, timeline] = await Promise.all([
        api('GET', `/api/experiments/${code}/results`),
        api('GET', `/api/experiments/${code}/insights`),
        // One metric: the charts show the primary one, and the whole timeline costs more to read.
        api('GET', `/api/experiments/${code}/timeline`, {query: {metric: ((doc.metrics || {}).primary || {}).key}})
          .catch((e) => ({error: e})),
      ]);
    } catch (e) {
      mount(summary, errorBox(e));
      mount(tables);
      return;
    }
    drawSummary(summary, insights, results);
    drawTables(tables, results.results || [], doc);
    drawn.forEach((c) => c.destroy());
    drawn = drawCharts(charts, timeline, doc);
  }
  return {section, refresh};
}

function drawSummary(box, insights, results) {
  const srm = results.srm || insights.srm || {};
  const flags = [];
  if (srm.applicable === false) flags.push(h('li', {class: 'muted', id: 'srm-status'}, `SRM: ${srm.reason}.`));
  else if (srm.defined === false) flags.push(h('li', {class: 'warn'}, `SRM: not evaluable yet (${srm.reason || 'too few subjects'})`));
  else if (srm.mismatch) flags.push(h('li', {class: 'bad', id: 'srm-status'}, `Sample ratio mismatch: p = ${pval(srm.p_value)} < ${srm.threshold}. The split is not what the weights say: do not trust the results until the cause is found.`));
  else flags.push(h('li', {class: 'ok', id: 'srm-status'}, `No sample ratio mismatch (p = ${pval(srm.p_value)}).`));
  for (const f of insights.fail_fast || [])
    flags.push(h('li', {class: 'bad fail-fast'}, `Fail fast: ${f.variant} is ${prob(f.prob_worse_than_best)} likely worse than ${f.best} on ${f.metric}: consider stopping it.`));
  for (const g of insights.guardrail_failures || [])
    flags.push(h('li', {class: 'bad guardrail'}, `Guardrail ${g.metric || ''} failed for ${g.variant || ''}${g.p_value !== undefined ? ` (p = ${pval(g.p_value)})` : ''}.`));
  for (const w of insights.warnings || []) flags.push(h('li', {class: 'warn'}, typeof w === 'string' ? w : JSON.stringify(w)));
  mount(box,
    h('p', {class: 'insight', id: 'insight-sentence'}, insights.recommendation || 'No recommendation yet: the experiment has no aggregated data.'),
    h('ul', {class: 'flags'}, flags));
}

const COLUMNS = [
  ['Variant'], ['n', 'subjects in the analysis'], ['Rate / mean'], ['95 % interval'], ['Lift'], ['Lift interval'],
  ['p', 'fixed-horizon p-value, and Holm-adjusted over the family'], ['Always-valid p', 'sequential (mSPRT): valid at every look'],
  ['Beats control', 'Bayesian chance to beat the control'], ['P(best)', 'Bayesian'],
];

function drawTables(box, rows, doc) {
  if (!rows.length) {
    mount(box, empty('No results yet: results appear after the first aggregation run with events.'));
    return;
  }
  const metrics = [...new Set(rows.map((r) => r.metric))];
  mount(box, metrics.map((metric) => {
    const mrows = rows.filter((r) => r.metric === metric);
    const rate = mrows[0].kind === 'rate';
    const f = rate ? (x) => pct(x) : (x) => num(x);
    return h('div', {class: 'table-wrap'}, h('table', {class: 'results', dataset: {metric}},
      h('caption', {}, `${metric} · ${mrows[0].role} · ${mrows[0].kind}`),
      h('thead', {}, h('tr', {}, COLUMNS.map(([t, title]) => h('th', {scope: 'col', title}, t)))),
      h('tbody', {}, mrows.map((r) => h('tr', {class: r.is_control ? 'control' : '', dataset: {variant: r.variant}},
        h('th', {scope: 'row'}, r.variant, r.is_control ? h('span', {class: 'muted'}, ' control') : null,
          doc.promoted_variant === r.variant ? h('span', {class: 'badge promoted'}, 'promoted') : null),
        h('td', {}, num(r.n)),
        h('td', {}, f(r.mean)),
        h('td', {}, interval(r.mean_lower, r.mean_upper, f)),
        h('td', {}, r.is_control ? '' : [pct(r.rel_lift, 1), h('div', {class: 'muted'}, `${rate ? pct(r.abs_lift) : num(r.abs_lift)} abs.`)]),
        h('td', {}, r.is_control ? '' : interval(r.rel_lift_lower, r.rel_lift_upper, (x) => pct(x, 1))),
        h('td', {}, r.is_control ? '' : [pval(r.p_value), r.p_value_holm !== null && r.p_value_holm !== undefined
          ? h('div', {class: 'muted', title: 'Holm-adjusted'}, `Holm ${pval(r.p_value_holm)}`) : null]),
        h('td', {}, r.is_control ? '' : pval(r.seq_p_value)),
        h('td', {}, r.is_control ? '' : prob(r.chance_to_beat_control)),
        h('td', {}, prob(r.prob_best)))))),
    mrows.some((r) => r.note) ? h('p', {class: 'muted'}, mrows.filter((r) => r.note).map((r) => `${r.variant}: ${r.note}`).join(' · ')) : null);
  }));
}

function drawCharts(box, timeline, doc) {
  if (!chartsAvailable()) {
    mount(box, errorBox({title: 'Charts unavailable:', message: 'Chart.js is not installed on the server (Debian package libjs-chart.js).'}));
    return [];
  }
  if (!timeline || timeline.error) {
    mount(box, timeline && timeline.error ? errorBox(timeline.error) : empty('No history yet.'));
    return [];
  }
  const primary = timeline.primary_metric;
  const looks = (timeline.looks || []).filter((l) => l.metric === primary);
  if (!looks.length) {
    mount(box, empty('No looks yet: each aggregation run with new data adds a point.'));
    return [];
  }
  const kind = ((doc.metrics || {}).primary || {}).kind;
  const alpha = +(1 - ((doc.analysis || {}).confidence || 0.95)).toFixed(4);
  const mean = chartBox('chart-conversion', `Cumulative ${primary} per variant, with 95 % intervals`, `${looks.length} points`);
  const seq = chartBox('chart-sequential', 'Always-valid p-value across looks (log scale)', '');
  const items = [mean.box, seq.box];
  const bandit = timeline.bandit || [];
  let share, params;
  if (bandit.length) {
    share = chartBox('chart-bandit-share', 'Bandit traffic share per arm', '');
    params = chartBox('chart-bandit-params', 'Bandit posterior α (solid) and β (dashed)', '');
    items.push(share.box, params.box);
  }
  mount(box, items);
  const charts = [meanChart(mean.canvas, looks, {percent: kind === 'rate'}), sequentialChart(seq.canvas, looks, alpha)];
  if (bandit.length) charts.push(...banditCharts(share.canvas, params.canvas, bandit));
  return charts;
}
