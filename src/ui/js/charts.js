// Charts of the results page, drawn with Chart.js (Debian's libjs-chart.js, /ui/vendor/).
// Each chart reads the timeline's looks: one point per aggregation run that changed the figures.
import {h} from './dom.js';

const COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export function chartsAvailable() {
  return typeof window.Chart === 'function';
}

function color(i, alpha = 1) {
  const c = COLORS[i % COLORS.length];
  if (alpha === 1) return c;
  const n = parseInt(c.slice(1), 16);
  return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// A canvas with a text alternative: the last point of each series, for screen readers.
export function chartBox(id, title, summary) {
  const canvas = h('canvas', {id, role: 'img', 'aria-label': `${title}. ${summary}`});
  return {box: h('figure', {class: 'chart'}, h('div', {class: 'chart-area'}, canvas), h('figcaption', {}, title)), canvas};
}

function byVariant(rows) {
  const m = new Map();
  for (const r of rows) {
    if (!m.has(r.variant)) m.set(r.variant, []);
    m.get(r.variant).push(r);
  }
  return m;
}

// The x axis: looks within a minute are told apart by their run number, within a day by the
// time, over longer spans by the date and time.
function labeller(labels, rows) {
  const span = labels.length ? new Date(labels[labels.length - 1]) - new Date(labels[0]) : 0;
  const runOf = new Map(rows.map((r) => [r.at, r.run]));
  if (span < 60e3) return (at) => `look ${runOf.get(at)}`;
  const [from, to] = span < 86400e3 ? [11, 19] : [5, 16];
  return (at) => new Date(at).toISOString().slice(from, to).replace('T', ' ');
}

function labelsOf(rows) {
  return [...new Set(rows.map((r) => r.at))].sort();
}

function series(rows, labels, pick) {
  const at = new Map(rows.map((r) => [r.at, pick(r)]));
  return labels.map((l) => (at.has(l) ? at.get(l) : null));
}

// Cumulative mean (a rate: the conversion) per variant with its interval as a band.
export function meanChart(canvas, looks, {percent}) {
  const labels = labelsOf(looks);
  const datasets = [];
  [...byVariant(looks)].forEach(([variant, rows], i) => {
    datasets.push({label: `${variant} upper`, data: series(rows, labels, (r) => r.mean_upper), borderWidth: 0,
      pointRadius: 0, fill: false, backgroundColor: color(i, 0.15), spanGaps: true});
    datasets.push({label: `${variant} lower`, data: series(rows, labels, (r) => r.mean_lower), borderWidth: 0,
      pointRadius: 0, fill: '-1', backgroundColor: color(i, 0.15), spanGaps: true});
    datasets.push({label: variant, data: series(rows, labels, (r) => r.mean), borderColor: color(i),
      backgroundColor: color(i), pointRadius: 2, spanGaps: true, fill: false});
  });
  return new window.Chart(canvas, {
    type: 'line',
    data: {labels: labels.map(labeller(labels, looks)), datasets},
    options: {
      animation: false, responsive: true, maintainAspectRatio: false,
      plugins: {legend: {labels: {filter: (item) => !/ (upper|lower)$/.test(item.text)}}},
      scales: {y: {ticks: {callback: (v) => (percent ? `${(v * 100).toFixed(1)} %` : v)}}},
    },
  });
}

// The always-valid p-value of each treatment across the looks (log scale), with the threshold.
export function sequentialChart(canvas, looks, alpha) {
  const treated = looks.filter((r) => r.seq_p_value !== null && r.seq_p_value !== undefined);
  const labels = labelsOf(treated);
  const datasets = [...byVariant(treated)].map(([variant, rows], i) => ({
    label: variant, data: series(rows, labels, (r) => Math.max(r.seq_p_value, 1e-6)), borderColor: color(i + 1),
    backgroundColor: color(i + 1), pointRadius: 2, spanGaps: true, stepped: true}));
  datasets.push({label: `α = ${alpha}`, data: labels.map(() => alpha), borderColor: '#555', borderDash: [6, 4], pointRadius: 0});
  return new window.Chart(canvas, {
    type: 'line', data: {labels: labels.map(labeller(labels, treated)), datasets},
    options: {animation: false, responsive: true, maintainAspectRatio: false,
      scales: {y: {type: 'logarithmic', min: 1e-4, max: 1, title: {display: true, text: 'always-valid p'}}}},
  });
}

// The bandit: traffic share per arm, and the posterior's α and β, over the looks.
export function banditCharts(shareCanvas, paramCanvas, bandit) {
  const labels = labelsOf(bandit);
  const arms = [...byVariant(bandit)];
  const share = new window.Chart(shareCanvas, {
    type: 'line',
    data: {labels: labels.map(labeller(labels, bandit)), datasets: arms.map(([variant, rows], i) => ({
      label: variant, data: series(rows, labels, (r) => r.share), borderColor: color(i), backgroundColor: color(i, 0.3),
      fill: i === 0 ? 'origin' : '-1', pointRadius: 0, spanGaps: true}))},
    options: {animation: false, responsive: true, maintainAspectRatio: false,
      scales: {y: {stacked: true, min: 0, max: 1, ticks: {callback: (v) => `${Math.round(v * 100)} %`}}}},
  });
  const params = new window.Chart(paramCanvas, {
    type: 'line',
    data: {labels: labels.map(labeller(labels, bandit)), datasets: arms.flatMap(([variant, rows], i) => [
      {label: `${variant} α`, data: series(rows, labels, (r) => r.alpha), borderColor: color(i), pointRadius: 0, spanGaps: true},
      {label: `${variant} β`, data: series(rows, labels, (r) => r.beta), borderColor: color(i), borderDash: [5, 3], pointRadius: 0, spanGaps: true},
    ])},
    options: {animation: false, responsive: true, maintainAspectRatio: false, scales: {y: {type: 'logarithmic'}}},
  });
  return [share, params];
}
