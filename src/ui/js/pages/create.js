// Guided creation (and editing) of an experiment: basics, variants whose weights add up to 100 %,
// targeting, metrics, winner policy with guardrails, then a review of the document sent. Errors are
// shown at the field: the form's own checks, and the server's ("invalid body.variants[1].weight:
// ...") mapped back to the input that holds the value.
import {api, enc} from '../api.js';
import {errorBox, h, mount} from '../dom.js';
import {go, notify} from '../app.js';
import {clearErrors, field, humanize, metricRow, renumber, showFieldError, variantRow} from './form_parts.js';

export async function render(main, {code}) {
  let doc = null;
  if (code) {
    mount(main, h('p', {class: 'loading'}, 'Loading…'));
    try {
      doc = await api('GET', `/api/experiments/${enc(code)}`);
    } catch (e) {
      mount(main, errorBox(e));
      return;
    }
    if (doc.status === 'completed' || doc.status === 'archived') {
      mount(main, h('h1', {}, `Edit ${doc.name}`), errorBox({title: 'Nothing can change:',
        message: `the experiment is ${doc.status}; its document is kept as it ran.`}),
        h('a', {href: `#/experiments/${enc(doc.code)}`}, 'Back to the experiment'));
      return;
    }
  }
  const draft = !doc || doc.status === 'draft';
  const form = h('form', {class: 'guided', novalidate: true, id: 'experiment-form'});
  const status = h('div', {id: 'form-status', 'aria-live': 'assertive'});

  // 1. Basics
  const name = field('name', 'Name', h('input', {type: 'text', required: true, maxlength: 200, value: doc?.name || ''}),
    'What people will call it, e.g. “Checkout button colour”.');
  const codeField = field('code', 'Code', h('input', {type: 'text', pattern: '[A-Za-z0-9_.\\-]{1,128}',
    value: doc?.code || '', disabled: !!doc}), 'The key applications use (letters, digits, - _ .). Empty: made from the name.');
  const description = field('description', 'Description', h('textarea', {rows: 2, value: doc?.description || ''}),
    'The hypothesis: what should change, and why.');
  const kind = field('kind', 'Kind', h('select', {disabled: !draft},  // the kind is fixed once it ran
    h('option', {value: 'ab'}, 'A/B/n test: fixed weights'),
    h('option', {value: 'bandit'}, 'Bandit: Thompson sampling shifts traffic to the best variant')),
    'A bandit needs a primary metric of kind rate.');
  kind.input.value = doc?.kind || 'ab';

  // 2. Variants
  const variantRows = h('div', {class: 'rows', id: 'variant-rows'});
  const total = h('p', {id: 'weight-total', class: 'help', 'aria-live': 'polite'});
  const updateTotal = () => {
    const sum = [...variantRows.children].reduce((s, r) => s + (Number(r.querySelector('[data-part=weight]').value) || 0), 0);
    total.textContent = `Weights add up to ${+sum.toFixed(4)} % (they must add up to 100 %).`;
    total.classList.toggle('bad', Math.abs(sum - 100) > 1e-9);
  };
  const addVariant = (v, removable) => {
    variantRows.append(variantRow(v, {draft, removable, onchange: updateTotal, onremove: () => { renumber(variantRows, 'variants'); updateTotal(); }}));
    renumber(variantRows, 'variants');
    updateTotal();
  };
  const initialVariants = doc?.variants || [
    {key: 'control', name: 'Control', weight: 50, is_control: true, config: {}},
    {key: 'treatment', name: 'Treatment', weight: 50, config: {}},
  ];
  initialVariants.forEach((v) => addVariant(v, draft));
  const addVariantButton = h('button', {type: 'button', id: 'add-variant', onclick: () => addVariant({key: '', weight: 0, config: {}}, true)}, 'Add a variant');

  // 3. Targeting
  const targeting = field('targeting', 'Targeting rules (JSON)', h('textarea', {rows: 3, spellcheck: 'false',
    value: JSON.stringify(doc?.targeting || {}, null, 0)}),
  'All must hold, e.g. {"country": ["SN", "FR"], "txn_count": {"gte": 3}}. {} targets everyone.');
  const coverage = field('coverage', 'Coverage (%)', h('input', {type: 'number', min: 0.01, max: 100, step: 'any',
    value: doc ? +(doc.coverage * 100).toFixed(4) : 100}), 'The share of eligible subjects who enter the experiment.');

  // 4. Metrics
  const metrics = doc?.metrics || {};
  const primary = metrics.primary || {key: 'conversion', kind: 'rate', event: ''};
  const primaryRow = metricRow(primary, {path: 'metrics.primary', fixed: true});
  const secondaryRows = h('div', {class: 'rows', id: 'secondary-rows'});
  const guardrailRows = h('div', {class: 'rows', id: 'guardrail-rows'});
  const addMetric = (rows, base, m, guardrail) => {
    rows.append(metricRow(m, {guardrail, onremove: () => renumber(rows, base)}));
    renumber(rows, base);
  };
  (metrics.secondary || []).forEach((m) => addMetric(secondaryRows, 'metrics.secondary', m, false));
  (metrics.guardrails || []).forEach((m) => addMetric(guardrailRows, 'metrics.guardrails', m, true));

  // 5. Winner policy
  const policy = doc?.winner_policy || {};
  const mode = field('winner_policy.mode', 'Winner', h('select', {},
    h('option', {value: 'manual'}, 'Manual: a person promotes'),
    h('option', {value: 'automatic'}, 'Automatic: promoted when every safety check passes')));
  mode.input.value = policy.mode || 'manual';
  const approval = h('input', {type: 'checkbox', id: 'f-winner_policy-require_manual_approval', checked: !!policy.require_manual_approval});
  const num = (path, label, value, attrs, help) => field(path, label, h('input', {type: 'number', step: 'any', ...attrs, value}), help);
  const confidence = num('winner_policy.confidence', 'Confidence (%)', +((policy.confidence ?? 0.95) * 100).toFixed(4), {min: 50, max: 99.99},
    'Always-valid (sequential) confidence the winner must reach.');
  const improvement = num('winner_policy.min_improvement', 'Minimum improvement (%)', +((policy.min_improvement ?? 0.05) * 100).toFixed(4), {min: 0},
    'Relative lift over the control on the primary metric.');
  const minAssign = num('winner_policy.min_assignments', 'Minimum subjects per variant', policy.min_assignments ?? 1000, {min: 0, step: 1});
  const runtime = num('winner_policy.pick_after_hours', 'Minimum runtime (hours)', policy.pick_after_hours ?? 48, {min: 0});

  const section = (n, title, ...children) => h('fieldset', {class: 'step', id: `step-${n}`},
    h('legend', {}, h('span', {class: 'step-number'}, n), ' ', title), ...children);
  const review = h('pre', {id: 'review', class: 'review', tabindex: 0, 'aria-label': 'The document that will be sent'});
  const submit = h('button', {type: 'submit', class: 'primary', id: 'submit-experiment'}, doc ? 'Save changes' : 'Create draft');

  mount(form,
    section(1, 'Basics', name.wrap, codeField.wrap, description.wrap, kind.wrap),
    section(2, 'Variants', h('p', {class: 'help'}, 'Exactly one control. Config is the JSON your application reads for the variant.'),
      variantRows, total, addVariantButton),
    section(3, 'Who takes part', targeting.wrap, coverage.wrap),
    section(4, 'Metrics', h('h3', {}, 'Primary metric'), h('p', {class: 'help'},
      'rate: share of subjects with the event; count, sum, avg: per subject.'), primaryRow,
    h('h3', {}, 'Secondary metrics'), secondaryRows,
    h('button', {type: 'button', id: 'add-secondary', onclick: () => addMetric(secondaryRows, 'metrics.secondary', {kind: 'sum'}, false)}, 'Add a secondary metric'),
    h('h3', {}, 'Guardrails'), h('p', {class: 'help'}, 'Metrics that must not get worse (e.g. errors, minimize). A failed guardrail pauses the experiment and blocks promotion.'),
    guardrailRows,
    h('button', {type: 'button', id: 'add-guardrail', onclick: () => addMetric(guardrailRows, 'metrics.guardrails', {kind: 'rate', objective: 'minimize'}, true)}, 'Add a guardrail')),
    section(5, 'Winner policy', mode.wrap, confidence.wrap, improvement.wrap, minAssign.wrap, runtime.wrap,
      h('div', {class: 'field checkbox'}, approval, h('label', {for: approval.id}, ' Require manual approval before an automatic promotion'))),
    section(6, 'Review', h('p', {class: 'help'}, 'The document sent to the API:'), review),
    h('div', {class: 'actions'}, submit, h('a', {href: doc ? `#/experiments/${enc(doc.code)}` : '#/experiments'}, 'Cancel')),
    status);

  const collect = () => {
    const errors = [];
    const spec = {name: name.input.value.trim(), description: description.input.value.trim() || undefined};
    if (!spec.name) errors.push(['name', 'is required']);
    if (!doc && codeField.input.value.trim()) spec.code = codeField.input.value.trim();
    if (draft) spec.kind = kind.input.value;
    spec.variants = [...variantRows.children].map((row, i) => {
      const get = (part) => row.querySelector(`[data-part=${part}]`);
      const v = {key: get('key').value.trim(), name: get('name').value.trim() || undefined, weight: Number(get('weight').value)};
      if (!v.key) errors.push([`variants[${i}].key`, 'is required']);
      if (get('weight').value === '' || !Number.isFinite(v.weight) || v.weight < 0) errors.push([`variants[${i}].weight`, 'must be a number ≥ 0']);
      try {
        v.config = JSON.parse(get('config').value || '{}');
        if (typeof v.config !== 'object' || Array.isArray(v.config) || v.config === null) throw new Error('must be a JSON object');
      } catch (e) {
        errors.push([`variants[${i}].config`, `is not a JSON object (${e.message})`]);
      }
      if (draft) v.is_control = get('control').checked;
      return v;
    });
    const sum = spec.variants.reduce((s, v) => s + (v.weight || 0), 0);
    if (Math.abs(sum - 100) > 1e-9) errors.push(['variants', `weights add up to ${+sum.toFixed(4)} %, not 100 %`]);
    if (spec.variants.length < 2) errors.push(['variants', 'an experiment needs at least two variants']);
    try {
      spec.targeting = JSON.parse(targeting.input.value || '{}');
      if (typeof spec.targeting !== 'object' || Array.isArray(spec.targeting) || spec.targeting === null) throw new Error('must be a JSON object');
    } catch (e) {
      errors.push(['targeting', `is not a JSON object (${e.message})`]);
    }
    const cov = Number(coverage.input.value);
    if (!(cov > 0 && cov <= 100)) errors.push(['coverage', 'must be more than 0 and at most 100 %']);
    spec.coverage = cov / 100;
    const metricOf = (row) => {
      const get = (part) => row.querySelector(`[data-part=${part}]`);
      const m = {key: get('key').value.trim(), kind: get('kind').value, event: get('event').value.trim()};
      if (get('objective') && get('objective').value) m.objective = get('objective').value;
      return m;
    };
    const prim = metricOf(primaryRow);
    if (!prim.event) errors.push(['metrics.primary.event', 'is required: the event that counts']);
    spec.metrics = {primary: prim,
      secondary: [...secondaryRows.children].map(metricOf),
      guardrails: [...guardrailRows.children].map(metricOf)};
    spec.winner_policy = {...policy, mode: mode.input.value,
      confidence: Number(confidence.input.value) / 100, min_improvement: Number(improvement.input.value) / 100,
      min_assignments: Number(minAssign.input.value), pick_after_hours: Number(runtime.input.value),
      require_manual_approval: approval.checked};
    return {spec, errors};
  };
  const refreshReview = () => {
    review.textContent = JSON.stringify(collect().spec, null, 2);
  };
  form.addEventListener('input', refreshReview);
  form.addEventListener('click', () => setTimeout(refreshReview));
  refreshReview();

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearErrors(form);
    mount(status);
    const {spec, errors} = collect();
    if (errors.length) {
      errors.forEach(([path, message]) => showFieldError(form, path, message));
      mount(status, errorBox({title: 'Please fix:', message: errors.map(([path, m]) => `${humanize(path)}: ${m}`).join(' · ')}));
      form.querySelector('[aria-invalid=true]')?.focus();
      return;
    }
    submit.disabled = true;
    try {
      const saved = doc ? await api('PATCH', `/api/experiments/${enc(doc.code)}`, {body: spec})
        : await api('POST', '/api/experiments', {body: spec});
      notify(doc ? `Saved ${saved.code}.` : `Created draft ${saved.code}.`, 'ok');
      go(`#/experiments/${enc(saved.code)}`);
    } catch (e) {
      if (e.field) showFieldError(form, e.field.replace(/\.traffic_share$/, '.weight'), e.fieldMessage);
      mount(status, errorBox(e));
      (form.querySelector('[aria-invalid=true]') || status).focus?.();
    } finally {
      submit.disabled = false;
    }
  });
  mount(main, h('h1', {}, doc ? `Edit ${doc.name}` : 'New experiment'),
    doc && !draft ? h('p', {class: 'help'}, `The experiment is ${doc.status}: its kind, control and variant keys are fixed (stored assignments depend on them); names, weights, configs, targeting, metrics and the winner policy can change.`) : null,
    form);
  name.input.focus();
}
