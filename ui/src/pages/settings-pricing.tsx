// Settings → AI prices: the project's own price entries over the operator's
// and the default catalog (GET /api/v1/pricing), added or replaced with
// PUT /api/v1/pricing/{model} and removed with DELETE (admin).
import { useState } from 'preact/hooks';
import { get, send } from '../api';
import { View } from '../state';
import { Failure, Panel, useData } from '../ui';
import { ActionError, Confirm, useAction } from './settings-parts';

interface Entry {
  model: string;
  pattern: boolean;
  input: number;
  output: number;
  cached_input: number;
  embedding: number;
  neurons_per_1k: number;
  source: 'default' | 'operator' | 'project';
}

interface Catalog {
  prices_as_of: string;
  sources: string[];
  units: string;
  models: Entry[];
}

type Rate = 'input' | 'output' | 'cached_input' | 'embedding' | 'neurons_per_1k';

const RATES: { key: Rate; label: string }[] = [
  { key: 'input', label: 'Input' },
  { key: 'output', label: 'Output' },
  { key: 'cached_input', label: 'Cached input' },
  { key: 'embedding', label: 'Embedding' },
  { key: 'neurons_per_1k', label: 'Per 1k neurons' },
];

function rate(v: number): string {
  return v ? '$' + String(parseFloat(v.toPrecision(6))) : '–';
}

interface Form {
  model: string;
  pattern: boolean;
  rates: Record<Rate, string>;
}

const blank = (): Form => ({ model: '', pattern: false, rates: { input: '', output: '', cached_input: '', embedding: '', neurons_per_1k: '' } });

function formOf(e: Entry): Form {
  const f = blank();
  f.model = e.model;
  f.pattern = e.pattern;
  for (const r of RATES) f.rates[r.key] = e[r.key] ? String(e[r.key]) : '';
  return f;
}

export function PricingPanel({ view }: { view: View }) {
  const [v, setV] = useState(0);
  const cat = useData(() => get<Catalog>('/api/v1/pricing'), [view.project, v]);
  const put = useAction();
  const del = useAction();
  const [form, setForm] = useState<Form>(blank);
  const [filter, setFilter] = useState('');
  const [saved, setSaved] = useState('');
  const own = cat.data?.models.filter((m) => m.source === 'project') ?? [];
  const f = filter.trim().toLowerCase();
  const rest = (cat.data?.models.filter((m) => m.source !== 'project') ?? []).filter((m) => !f || m.model.toLowerCase().includes(f));
  const setRate = (k: Rate, val: string) => setForm((x) => ({ ...x, rates: { ...x.rates, [k]: val } }));
  const edit = (e: Entry) => {
    setForm(formOf(e));
    setSaved('');
    put.clear();
    requestAnimationFrame(() => document.getElementById('st-price-model')?.focus());
  };
  return (
    <div id="st-pricing" class="st-section">
      <Panel title="AI prices" wide>
        <Failure error={cat.error} />
        {cat.data && (
          <p class="meta">
            {cat.data.units}. Ingest prices each <code>ai_usage</code> and <code>embeddings</code> point with the catalog in force when it is written: a change applies to
            points written after it. The project’s entries win over the operator’s and the default ones (prices as of {cat.data.prices_as_of || '–'}).
          </p>
        )}
        <h3>This project’s prices</h3>
        {cat.data && own.length === 0 && <p class="meta" data-testid="st-prices-none">None: the catalog below prices every model. Add one to override a price or to price your own model.</p>}
        {own.length > 0 && <PriceTable label="This project’s prices" rows={own} onEdit={edit} del={(e) => del.run(() => send('DELETE', '/api/v1/pricing/' + encodeURIComponent(e.model))).then((r) => r.ok && setV((n) => n + 1))} busy={del.busy} />}
        <ActionError error={del.error} testid="st-price-del-error" />
        <form
          class="st-price-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setSaved('');
            const body: Record<string, number | boolean> = { pattern: form.pattern };
            for (const r of RATES) body[r.key] = Number(form.rates[r.key] || 0);
            const model = form.model.trim();
            const res = await put.run(() => send<Entry>('PUT', '/api/v1/pricing/' + encodeURIComponent(model), body));
            if (res.ok) {
              setSaved(`Saved the price of ${res.value.model}.`);
              setForm(blank());
              setV((n) => n + 1);
            }
          }}
        >
          <fieldset>
            <legend>Add or replace a price (USD per 1M tokens, or per 1,000 neurons)</legend>
            <div class="st-form">
              <label>
                Model
                <input id="st-price-model" type="text" value={form.model} required placeholder="e.g. gpt-4o or tutor-ft-v\d+" onInput={(e) => setForm({ ...form, model: (e.target as HTMLInputElement).value })} data-testid="st-price-model" />
              </label>
              <label>
                <input type="checkbox" checked={form.pattern} onChange={(e) => setForm({ ...form, pattern: (e.target as HTMLInputElement).checked })} data-testid="st-price-pattern" /> Regular expression
              </label>
            </div>
            <div class="st-form">
              {RATES.map((r) => (
                <label>
                  {r.label}
                  <input
                    type="number"
                    min={0}
                    step="any"
                    size={8}
                    value={form.rates[r.key]}
                    placeholder="0"
                    onInput={(e) => setRate(r.key, (e.target as HTMLInputElement).value)}
                    data-testid={'st-price-' + r.key}
                  />
                </label>
              ))}
            </div>
            <div class="st-form">
              <button type="submit" disabled={put.busy || !form.model.trim()} data-testid="st-price-save">
                Save price
              </button>
              <span class="meta">Prices all zero declare a model free on purpose.</span>
              <span role="status" class="st-ok">
                {saved}
              </span>
            </div>
            <ActionError error={put.error} testid="st-price-error" />
          </fieldset>
        </form>
        {cat.data && (
          <details class="st-catalog">
            <summary>
              The operator’s and default prices ({rest.length}
              {f ? ' matching' : ''})
            </summary>
            <label class="st-form">
              Filter
              <input type="search" value={filter} placeholder="model…" onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
            </label>
            <PriceTable label="Operator and default prices" rows={rest} onEdit={edit} />
          </details>
        )}
      </Panel>
    </div>
  );
}

function PriceTable({ label, rows, onEdit, del, busy }: { label: string; rows: Entry[]; onEdit: (e: Entry) => void; del?: (e: Entry) => void; busy?: boolean }) {
  return (
    <div class="table-wrap">
      <table aria-label={label} data-testid={del ? 'st-prices' : 'st-catalog'}>
        <thead>
          <tr>
            <th scope="col">Model</th>
            {RATES.map((r) => (
              <th scope="col" class="num">
                {r.label}
              </th>
            ))}
            <th scope="col">Source</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((e) => (
            <tr>
              <td>
                <code>{e.model}</code>
                {e.pattern && <span class="badge">pattern</span>}
              </td>
              {RATES.map((r) => (
                <td class="num">{rate(e[r.key])}</td>
              ))}
              <td>{e.source}</td>
              <td class="st-actions">
                <button type="button" onClick={() => onEdit(e)} aria-label={(del ? 'Change the price of ' : 'Override the price of ') + e.model}>
                  {del ? 'Change' : 'Override'}
                </button>
                {del && (
                  <Confirm label="Delete" what={`the price of ${e.model}`} question={`Delete the project’s price of ${e.model}?`} yes="Delete" disabled={busy} onYes={() => del(e)} testid={'st-price-del-' + e.model.replace(/\W+/g, '-')} />
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
