// A rule's form (/alerts/new, /alerts/{id}?edit=1): name, the query (a
// dataset, one aggregation, filters, group by, the window), the condition,
// every and for, and the targets; it posts the JSON POST and PUT
// /api/v1/alerts take and shows the server's 400 beside it as it is. A
// query the form cannot show is edited as JSON.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, send } from '../api';
import { navigate, View } from '../state';
import { Failure, Panel, useData } from '../ui';
import { AGGS, AlertLink, bodyOf, DatasetInfo, Draft, draftOf, fieldsOf, FILTER_OPS, FilterDraft, newDraft, OPS, Rule } from './alerts-parts';
import { ActionError, useAction, useCanChange } from './settings-parts';

export function AlertForm({ view, id }: { view: View; id: number }) {
  const canChange = useCanChange();
  const rule = useData(() => (id ? get<Rule>('/api/v1/alerts/' + id) : Promise.resolve(null)), [view.project, id]);
  const datasets = useData(() => get<{ datasets: DatasetInfo[] }>('/api/v1/datasets'), [view.project]);
  const [d, setD] = useState<Draft | null>(id ? null : newDraft());
  useEffect(() => {
    if (id && rule.data && rule.data.id === id && d === null) setD(draftOf(rule.data));
  }, [rule.data, id]);
  const back = id ? '/alerts/' + id : '/alerts';
  if (!canChange) {
    return (
      <>
        <p class="al-back">
          <AlertLink href={back}>← Back</AlertLink>
        </p>
        <p class="meta" data-testid="al-read-note">
          This session was opened with a <strong>read</strong> key: it sees the rules. Creating and changing them is the admin’s — sign in with the project’s admin key.
        </p>
      </>
    );
  }
  if (!d) return rule.error ? <Failure error={rule.error} /> : <p class="loading">Loading…</p>;
  return <Form id={id} draft={d} set={setD} datasets={datasets.data?.datasets ?? []} back={back} />;
}

function Form({ id, draft: d, set, datasets, back }: { id: number; draft: Draft; set: (d: Draft) => void; datasets: DatasetInfo[]; back: string }) {
  const act = useAction();
  const [jsonNote, setJsonNote] = useState('');
  const ds = datasets.find((x) => x.name === d.dataset.trim());
  const fields = useMemo(() => fieldsOf(ds), [ds]);
  const up = (p: Partial<Draft>) => set({ ...d, ...p });
  const upFilter = (i: number, p: Partial<FilterDraft>) => up({ filters: d.filters.map((f, j) => (j === i ? { ...f, ...p } : f)) });
  const aggInfo = AGGS.find((a) => a.type === d.agg);
  let preview = '';
  try {
    preview = JSON.stringify(bodyOf(d, ds?.schema), null, 2);
  } catch (e) {
    preview = (e as Error).message;
  }

  const toJSON = () => {
    try {
      const body = bodyOf(d, ds?.schema);
      up({ raw: JSON.stringify(body.query, null, 2) });
      setJsonNote('');
    } catch (e) {
      setJsonNote((e as Error).message);
    }
  };
  const toForm = () => {
    let q: unknown;
    try {
      q = JSON.parse(d.raw ?? '');
    } catch (e) {
      setJsonNote('The query is not JSON: ' + (e as Error).message);
      return;
    }
    const f = draftOf({ name: d.name, query: q, condition: { op: d.op, value: 0 }, every: d.every, for: d.for, noData: d.noData, timezone: d.timezone, notify: d.notify } as unknown as Rule);
    if (f.raw !== null) {
      setJsonNote('The form cannot show this query (several aggregations, another dataset, orderBy…): keep editing it as JSON.');
      return;
    }
    setJsonNote('');
    up({ ...f, name: d.name, op: d.op, value: d.value, raw: null });
  };

  return (
    <>
      <p class="al-back">
        <AlertLink href={back}>← {id ? 'Back to the rule' : 'All alert rules'}</AlertLink>
      </p>
      <Panel title={id ? 'Edit the rule' : 'New alert rule'} wide>
        <form
          class="al-form"
          noValidate
          data-testid="al-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await act.run(async () => {
              const body = bodyOf(d, ds?.schema);
              return id ? send<Rule>('PUT', '/api/v1/alerts/' + id, body) : send<Rule>('POST', '/api/v1/alerts', body);
            });
            if (r.ok) navigate('/alerts/' + r.value.id, { edit: null });
          }}
        >
          <fieldset>
            <legend>Rule</legend>
            <label class="al-wide">
              Name
              <input type="text" value={d.name} maxLength={100} required placeholder="e.g. chat errors" onInput={(e) => up({ name: val(e) })} data-testid="al-f-name" />
            </label>
          </fieldset>

          <fieldset>
            <legend>What it measures</legend>
            {d.raw === null ? (
              <>
                <div class="al-row">
                  <label>
                    Dataset
                    <input type="text" list="al-datasets" value={d.dataset} required onInput={(e) => up({ dataset: val(e) })} data-testid="al-f-dataset" />
                  </label>
                  <datalist id="al-datasets">
                    {datasets.map((x) => (
                      <option value={x.name} />
                    ))}
                  </datalist>
                  <datalist id="al-fields">
                    {fields.map((f) => (
                      <option value={f} />
                    ))}
                  </datalist>
                  <label>
                    Aggregation
                    <select value={d.agg} onChange={(e) => up({ agg: val(e) })} data-testid="al-f-agg">
                      {AGGS.map((a) => (
                        <option value={a.type}>
                          {a.type} — {a.label}
                        </option>
                      ))}
                    </select>
                  </label>
                  {aggInfo?.field && (
                    <label>
                      Field
                      <input type="text" list="al-fields" value={d.field} onInput={(e) => up({ field: val(e) })} data-testid="al-f-field" />
                    </label>
                  )}
                  {d.agg === 'quantile' && (
                    <label>
                      q
                      <input type="number" step="any" min="0" max="1" value={d.q} class="al-num" onInput={(e) => up({ q: val(e) })} data-testid="al-f-q" />
                    </label>
                  )}
                  <label>
                    Window (range)
                    <input type="text" value={d.range} class="al-dur" required placeholder="5m or today" title='A duration back from each evaluation ("5m", "1h", "1d"), or "today"' onInput={(e) => up({ range: val(e) })} data-testid="al-f-range" />
                  </label>
                </div>
                {d.agg === 'percentage' && (
                  <div class="al-row" role="group" aria-label="The percentage counts the points where">
                    <span class="al-row-label">% of points where</span>
                    <FilterInputs f={d.pct} on={(p) => up({ pct: { ...d.pct, ...p } })} testid="al-f-pct" />
                  </div>
                )}
                <div class="al-filters" role="group" aria-label="Filters (all must hold)">
                  {d.filters.map((f, i) => (
                    <div class="al-row">
                      <span class="al-row-label">{i === 0 ? 'where' : 'and'}</span>
                      <FilterInputs f={f} on={(p) => upFilter(i, p)} testid={'al-f-filter-' + i} />
                      <button type="button" aria-label={'Remove filter ' + (i + 1)} onClick={() => up({ filters: d.filters.filter((_, j) => j !== i) })}>
                        ✕
                      </button>
                    </div>
                  ))}
                  <button type="button" onClick={() => up({ filters: [...d.filters, { field: '', op: '=', value: '' }] })} data-testid="al-f-add-filter">
                    + Filter
                  </button>
                </div>
                <div class="al-row">
                  <label class="al-wide">
                    Group by (optional: each group is checked; the one that breaches most is the rule's value)
                    <input type="text" list="al-fields" value={d.groupBy} placeholder="e.g. endpoint" onInput={(e) => up({ groupBy: val(e) })} data-testid="al-f-groupby" />
                  </label>
                </div>
                <button type="button" class="al-link" onClick={toJSON}>
                  Edit the query as JSON
                </button>
              </>
            ) : (
              <>
                <label for="al-f-query" class="meta">
                  The query (a structured query with one aggregation, as <code>POST /api/v1/query</code> takes it; its <code>range</code> is the window)
                </label>
                <textarea id="al-f-query" class="code al-query" rows={Math.min(Math.max((d.raw ?? '').split('\n').length + 1, 6), 24)} spellcheck={false} value={d.raw} onInput={(e) => up({ raw: (e.target as HTMLTextAreaElement).value })} data-testid="al-f-query" />
                <button type="button" class="al-link" onClick={toForm}>
                  Back to the form
                </button>
              </>
            )}
            {jsonNote && <p class="failure">{jsonNote}</p>}
          </fieldset>

          <fieldset>
            <legend>When it fires</legend>
            <div class="al-row">
              <label>
                Value is
                <select value={d.op} onChange={(e) => up({ op: val(e) })} data-testid="al-f-op">
                  {OPS.map((o) => (
                    <option value={o}>{o}</option>
                  ))}
                </select>
              </label>
              <label>
                Threshold
                <input type="text" inputMode="decimal" value={d.value} class="al-num" required onInput={(e) => up({ value: val(e) })} data-testid="al-f-value" />
              </label>
              <label>
                For
                <input type="text" value={d.for} class="al-dur" placeholder="0s" title="How long the breach must last before the rule fires (0s: at once)" onInput={(e) => up({ for: val(e) })} data-testid="al-f-for" />
              </label>
              <label>
                Every
                <input type="text" value={d.every} class="al-dur" placeholder="1m" title="How often the rule is evaluated (1s to 1d)" onInput={(e) => up({ every: val(e) })} data-testid="al-f-every" />
              </label>
              <label>
                No value
                <select value={d.noData} onChange={(e) => up({ noData: val(e) })} data-testid="al-f-nodata">
                  <option value="ok">is no breach</option>
                  <option value="firing">is a breach</option>
                  <option value="keep">keeps the state</option>
                </select>
              </label>
              <label>
                Timezone
                <input type="text" value={d.timezone} class="al-tz" title='For "today": an IANA name such as Europe/Paris' onInput={(e) => up({ timezone: val(e) })} data-testid="al-f-tz" />
              </label>
            </div>
          </fieldset>

          <fieldset>
            <legend>Who is told</legend>
            {d.notify.map((t, i) => (
              <div class="al-row">
                <label>
                  <span class="sr-only">Target {i + 1} type</span>
                  <select value={t.type} onChange={(e) => up({ notify: d.notify.map((x, j) => (j === i ? { ...x, type: val(e) } : x)) })} data-testid={'al-f-type-' + i}>
                    <option value="webhook">webhook (JSON)</option>
                    <option value="slack">Slack (incoming webhook)</option>
                  </select>
                </label>
                <label class="al-grow">
                  <span class="sr-only">Target {i + 1} URL</span>
                  <input
                    type="text"
                    inputMode="url"
                    value={t.url}
                    placeholder={t.type === 'slack' ? 'https://hooks.slack.com/services/…' : 'https://ops.example.com/hooks/alidade'}
                    onInput={(e) => up({ notify: d.notify.map((x, j) => (j === i ? { ...x, url: val(e) } : x)) })}
                    data-testid={'al-f-url-' + i}
                  />
                </label>
                <button type="button" aria-label={'Remove target ' + (i + 1)} onClick={() => up({ notify: d.notify.filter((_, j) => j !== i) })}>
                  ✕
                </button>
              </div>
            ))}
            <button type="button" disabled={d.notify.length >= 10} onClick={() => up({ notify: [...d.notify, { type: 'webhook', url: '' }] })} data-testid="al-f-add-target">
              + Target
            </button>
            <span class="meta"> A notification goes out on firing and on resolving; targets without a URL are left out.</span>
          </fieldset>

          <div class="st-form">
            <button type="submit" class="st-primary" disabled={act.busy} data-testid="al-f-save">
              {id ? 'Save changes' : 'Create rule'}
            </button>
            <AlertLink href={back}>Cancel</AlertLink>
            {id > 0 && <span class="meta">Saving restarts the rule's state at ok and drops undelivered notifications.</span>}
            <ActionError error={act.error} testid="al-form-error" />
          </div>
          <details class="al-json">
            <summary>The JSON sent</summary>
            <pre class="code" data-testid="al-f-preview">{preview}</pre>
          </details>
        </form>
      </Panel>
    </>
  );
}

function FilterInputs({ f, on, testid }: { f: FilterDraft; on: (p: Partial<FilterDraft>) => void; testid: string }) {
  return (
    <>
      <label>
        <span class="sr-only">Field</span>
        <input type="text" list="al-fields" placeholder="field" value={f.field} onInput={(e) => on({ field: val(e) })} data-testid={testid + '-field'} />
      </label>
      <label>
        <span class="sr-only">Operator</span>
        <select value={f.op} onChange={(e) => on({ op: val(e) })} data-testid={testid + '-op'}>
          {FILTER_OPS.map((o) => (
            <option value={o}>{o}</option>
          ))}
        </select>
      </label>
      <label>
        <span class="sr-only">Value</span>
        <input type="text" placeholder={f.op === 'in' || f.op === 'not_in' ? 'a, b, c' : 'value'} value={f.value} onInput={(e) => on({ value: val(e) })} data-testid={testid + '-value'} />
      </label>
    </>
  );
}

function val(e: Event): string {
  return (e.target as HTMLInputElement | HTMLSelectElement).value;
}
