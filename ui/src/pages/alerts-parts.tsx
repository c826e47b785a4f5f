// What the alerts pages share: a rule and its history as the API answers
// them (GET /api/v1/alerts…), the state badge, the form's draft of a rule
// and the JSON body it becomes, and the polling that follows evaluations
// (a rule's state changes on the server's clock, not on writes).
import { useEffect, useState } from 'preact/hooks';
import { navigate } from '../state';

export interface Filter {
  field: string;
  op: string;
  value: unknown;
}

export interface Aggregation {
  type: string;
  field?: string;
  q?: number;
  filter?: Filter | Filter[];
  dataset?: string;
}

export interface RuleQuery {
  dataset?: string;
  range?: string;
  filter?: Filter[];
  groupBy?: string[];
  aggregations?: Record<string, Aggregation>;
  [k: string]: unknown;
}

export interface Target {
  type: 'webhook' | 'slack' | string;
  url: string;
}

export interface Rule {
  id: number;
  name: string;
  query: RuleQuery;
  condition: { op: string; value: number };
  for: string;
  every: string;
  noData: string;
  timezone: string;
  notify: Target[];
  created: string;
  updated: string;
  state: 'ok' | 'pending' | 'firing' | 'resolved' | string;
  since: string;
  value: number | null;
  group?: Record<string, unknown>;
  lastEvaluation: string | null;
  nextEvaluation: string;
  source?: string;
  sourceNote?: string;
  error?: string;
  pendingNotifications: number;
  url?: string;
}

export interface Entry {
  at: string;
  kind: string;
  from?: string;
  to?: string;
  value: number | null;
  group?: Record<string, unknown>;
  source?: string;
  seq?: number;
  target?: number;
  type?: string;
  attempt?: number;
  status?: number;
  ok?: boolean;
  final?: boolean;
  message?: string;
}

export interface TestResult {
  target: number;
  type: string;
  ok: boolean;
  status: number;
  message?: string;
}

export interface DatasetInfo {
  name: string;
  schema: { index?: string; blobs?: string[]; doubles?: string[] } | null;
}

export const OPS = ['>', '>=', '<', '<=', '==', '!='];
export const FILTER_OPS = ['=', '!=', '<', '<=', '>', '>=', 'in', 'not_in', 'contains', 'starts_with'];
export const AGGS: { type: string; label: string; field: boolean }[] = [
  { type: 'count', label: 'count of points', field: false },
  { type: 'sum', label: 'sum of', field: true },
  { type: 'avg', label: 'average of', field: true },
  { type: 'min', label: 'minimum of', field: true },
  { type: 'max', label: 'maximum of', field: true },
  { type: 'quantile', label: 'quantile of', field: true },
  { type: 'percentage', label: 'percentage of points where', field: false },
  { type: 'uniq', label: 'distinct values of', field: true },
];

export function StateBadge({ state }: { state: string }) {
  return (
    <span class={'badge al-state al-' + state} data-testid="al-state" data-state={state}>
      {state}
    </span>
  );
}

// value writes a rule's value to 4 significant digits ("–" for none).
export function value(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return String(parseFloat(v.toPrecision(4)));
}

export function condition(c: { op: string; value: number }): string {
  return c.op + ' ' + value(c.value);
}

// aggOf is the rule's one aggregation (its name and itself).
export function aggOf(q: RuleQuery): [string, Aggregation] | null {
  const e = Object.entries(q.aggregations ?? {});
  return e.length ? e[0] : null;
}

// describe says what a rule measures, e.g. "p95 of duration over 5m".
export function describe(q: RuleQuery): string {
  const a = aggOf(q);
  if (!a) return q.dataset ?? '';
  const [, g] = a;
  const what = g.type === 'quantile' ? `p${Math.round((g.q ?? 0) * 1000) / 10} of ${g.field}` : g.type === 'count' ? 'count' : g.type === 'percentage' ? '% where ' + filterText(g.filter) : `${g.type}(${g.field ?? ''})`;
  const f = (q.filter ?? []).map((x) => filterText(x)).join(' and ');
  return `${what} of ${q.dataset ?? '?'}${f ? ' where ' + f : ''}${q.groupBy?.length ? ' by ' + q.groupBy.join(', ') : ''} over ${q.range ?? '?'}`;
}

function filterText(f: Filter | Filter[] | undefined): string {
  if (!f) return '';
  if (Array.isArray(f)) return f.map(filterText).join(' and ');
  return `${f.field} ${f.op ?? (f as { operator?: string }).operator} ${JSON.stringify(f.value)}`;
}

// usePoll counts up every ms while the page is visible and live, so that
// useData reads again; the live tick of writes still applies.
export function usePoll(ms: number, on: boolean): number {
  const [n, setN] = useState(0);
  useEffect(() => {
    if (!on || !(ms > 0)) return;
    const t = setInterval(() => {
      if (!document.hidden) setN((x) => x + 1);
    }, ms);
    return () => clearInterval(t);
  }, [ms, on]);
  return n;
}

// pollMs is how often a page of rules reads them again: as often as the
// fastest rule is evaluated, from 2 s to 15 s.
export function pollMs(everys: string[]): number {
  let best = 15_000;
  for (const e of everys) {
    const ms = durationMs(e);
    if (ms !== null) best = Math.min(best, ms);
  }
  return Math.max(best, 2000);
}

// durationMs reads "30s", "2m", "1h30m", "1d" (null when it is not one).
export function durationMs(s: string): number | null {
  const m = /^(?:(\d+)d)?((?:\d+(?:\.\d+)?(?:ms|s|m|h))*)$/.exec(s.trim());
  if (!m || (!m[1] && !m[2])) return null;
  let ms = (Number(m[1] ?? 0) || 0) * 86_400_000;
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  for (const p of m[2].matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) ms += Number(p[1]) * units[p[2]];
  return ms;
}

// A draft is the form's state: strings as typed, turned into the API's
// JSON by bodyOf. A query the form cannot show (several aggregations, an
// aggregation over another dataset, orderBy…) is edited as JSON (raw).
export interface Draft {
  name: string;
  dataset: string;
  aggName: string;
  agg: string;
  field: string;
  q: string;
  pct: FilterDraft;
  filters: FilterDraft[];
  groupBy: string;
  range: string;
  op: string;
  value: string;
  every: string;
  for: string;
  noData: string;
  timezone: string;
  notify: Target[];
  raw: string | null;
}

export interface FilterDraft {
  field: string;
  op: string;
  value: string;
}

export function newDraft(): Draft {
  return {
    name: '',
    dataset: 'requests',
    aggName: '',
    agg: 'percentage',
    field: '',
    q: '0.95',
    pct: { field: 'status', op: '>=', value: '500' },
    filters: [],
    groupBy: '',
    range: '5m',
    op: '>',
    value: '5',
    every: '30s',
    for: '2m',
    noData: 'ok',
    timezone: 'UTC',
    notify: [{ type: 'webhook', url: '' }],
    raw: null,
  };
}

const FORM_KEYS = new Set(['dataset', 'range', 'filter', 'groupBy', 'aggregations']);

function simpleFilter(f: unknown): f is Filter {
  if (!f || typeof f !== 'object' || Array.isArray(f)) return false;
  const x = f as Record<string, unknown>;
  return typeof x.field === 'string' && typeof (x.op ?? x.operator) === 'string' && Object.keys(x).every((k) => ['field', 'op', 'operator', 'value'].includes(k));
}

function filterDraft(f: Filter): FilterDraft {
  const op = (f.op ?? (f as { operator?: string }).operator) as string;
  return { field: f.field, op, value: Array.isArray(f.value) ? f.value.join(', ') : String(f.value ?? '') };
}

// draftOf is a rule as the form shows it.
export function draftOf(r: Rule): Draft {
  const d: Draft = {
    ...newDraft(),
    name: r.name,
    op: r.condition.op,
    value: String(r.condition.value),
    every: r.every,
    for: r.for,
    noData: r.noData || 'ok',
    timezone: r.timezone || 'UTC',
    notify: r.notify.map((t) => ({ ...t })),
  };
  const q = r.query;
  const a = aggOf(q);
  const fits =
    a !== null &&
    Object.keys(q.aggregations ?? {}).length === 1 &&
    Object.keys(q).every((k) => FORM_KEYS.has(k)) &&
    typeof q.dataset === 'string' &&
    typeof q.range === 'string' &&
    (q.filter === undefined || (Array.isArray(q.filter) && q.filter.every(simpleFilter))) &&
    (q.groupBy === undefined || (Array.isArray(q.groupBy) && q.groupBy.every((g) => typeof g === 'string'))) &&
    AGGS.some((x) => x.type === a[1].type) &&
    !a[1].dataset &&
    Object.keys(a[1]).every((k) => ['type', 'field', 'q', 'filter'].includes(k)) &&
    (a[1].filter === undefined || (a[1].type === 'percentage' && simpleFilter(a[1].filter)));
  if (!fits) {
    d.raw = JSON.stringify(q, null, 2);
    return d;
  }
  const [name, g] = a!;
  d.dataset = q.dataset!;
  d.range = q.range!;
  d.filters = (q.filter ?? []).map(filterDraft);
  d.groupBy = (q.groupBy ?? []).join(', ');
  d.aggName = name;
  d.agg = g.type;
  d.field = g.field ?? '';
  d.q = g.q !== undefined ? String(g.q) : '0.95';
  if (g.type === 'percentage' && g.filter) d.pct = filterDraft(g.filter as Filter);
  return d;
}

// isNumberField: a double (by position or schema name) holds numbers;
// null when the dataset's schema is not known (a dataset with no point
// yet is not listed).
export function isNumberField(field: string, schema: DatasetInfo['schema'] | undefined): boolean | null {
  if (/^double\d+$/.test(field) || ['timestamp', '_sample_interval'].includes(field)) return true;
  if (/^(blob\d+|index1?)$/.test(field)) return false;
  if (!schema) return null;
  return !!schema.doubles?.includes(field);
}

// typed reads a filter's text as the field's type: numbers for a double
// field (or, when the schema is not known, text that reads as a number),
// a list for in and not_in ("a, b"); anything else stays a string. The
// server refuses what does not fit, and the form shows its message.
export function typed(f: FilterDraft, schema: DatasetInfo['schema'] | undefined): unknown {
  const num = isNumberField(f.field.trim(), schema) ?? true;
  const one = (s: string) => {
    const t = s.trim();
    if (num && t !== '' && Number.isFinite(Number(t))) return Number(t);
    return t;
  };
  if (f.op === 'in' || f.op === 'not_in') return f.value.split(',').map(one).filter((x) => x !== '');
  return one(f.value);
}

function filterOf(f: FilterDraft, schema: DatasetInfo['schema'] | undefined): Filter {
  return { field: f.field.trim(), op: f.op, value: typed(f, schema) };
}

// bodyOf is the rule's JSON as POST and PUT /api/v1/alerts take it. It
// throws only when the JSON of a raw query does not parse.
export function bodyOf(d: Draft, schema: DatasetInfo['schema'] | undefined): Record<string, unknown> {
  let query: unknown;
  if (d.raw !== null) {
    try {
      query = JSON.parse(d.raw);
    } catch (e) {
      throw new Error('The query is not JSON: ' + (e as Error).message);
    }
  } else {
    const agg: Aggregation = { type: d.agg };
    if (AGGS.find((a) => a.type === d.agg)?.field) agg.field = d.field.trim();
    if (d.agg === 'quantile') agg.q = Number(d.q);
    if (d.agg === 'percentage') agg.filter = filterOf(d.pct, schema);
    const q: RuleQuery = { dataset: d.dataset.trim(), range: d.range.trim() };
    const filters = d.filters.filter((f) => f.field.trim());
    if (filters.length) q.filter = filters.map((f) => filterOf(f, schema));
    const groups = d.groupBy.split(',').map((s) => s.trim()).filter(Boolean);
    if (groups.length) q.groupBy = groups;
    q.aggregations = { [d.aggName.trim() || defaultAggName(d)]: agg };
    query = q;
  }
  const v = d.value.trim();
  return {
    name: d.name,
    query,
    // A number when it reads as one; else the text, which the server's
    // 400 names.
    condition: { op: d.op, value: v !== '' && Number.isFinite(Number(v)) ? Number(v) : v },
    for: d.for.trim(),
    every: d.every.trim(),
    noData: d.noData,
    timezone: d.timezone.trim() || 'UTC',
    notify: d.notify.filter((t) => t.url.trim()).map((t) => ({ type: t.type, url: t.url.trim() })),
  };
}

function defaultAggName(d: Draft): string {
  switch (d.agg) {
    case 'quantile':
      return 'p' + Math.round(Number(d.q) * 100);
    case 'percentage':
      return 'pct';
    case 'count':
      return 'n';
  }
  return d.agg;
}

// fieldsOf lists a dataset's fields: its schema's names, then positions.
export function fieldsOf(ds: DatasetInfo | undefined): string[] {
  const s = ds?.schema;
  const out: string[] = [];
  if (s?.index) out.push(s.index);
  s?.blobs?.forEach((b) => b && out.push(b));
  s?.doubles?.forEach((b) => b && out.push(b));
  out.push('index1');
  for (let i = 1; i <= 20; i++) out.push('blob' + i);
  for (let i = 1; i <= 20; i++) out.push('double' + i);
  return out;
}

// AlertLink goes to a page of the alerts, keeping the view's parameters
// but those of another page.
export function AlertLink({ href, children, testid, cls }: { href: string; children: preact.ComponentChildren; testid?: string; cls?: string }) {
  const q = new URLSearchParams(location.search);
  q.delete('edit');
  const s = q.toString();
  const url = href + (s ? '?' + s : '');
  return (
    <a
      href={url}
      class={cls}
      data-testid={testid}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(href, { edit: null });
      }}
    >
      {children}
    </a>
  );
}
