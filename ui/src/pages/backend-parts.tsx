// Pieces the Backend and AI pages share: the platform metrics they read
// (typed), the one structured query that gives a panel per-group series
// (per endpoint, per model), and small figures, meters and trend cells.
import { ComponentChildren } from 'preact';
import { useRef } from 'preact/hooks';
import { get, send } from '../api';
import { Line } from '../chart';
import { ms, num, pct } from '../format';
import { intervalFor, intervalOf, rangeParams, View } from '../state';
import { Column, Loaded, useData } from '../ui';
import type { MetricsBucket } from './overview';
import './backend-parts.css';

// TOP is how many endpoints and query names the metrics' top-N lists hold.
export const TOP = 25;

export interface Q {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface EndpointRow {
  endpoint: string;
  requests: number;
  errors: number;
  errorRate: number;
  latency: number | null;
  latencyPercentiles: Q;
}

export interface ModelRow {
  model: string;
  calls: number;
  tokens: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  unpricedCalls: number;
  latency: Q;
  timeToFirstToken: Q;
}

export interface Figures {
  requests: number;
  latency: number;
  errorRate: number;
  aiUsage: { tokens: number; cost: number };
  latencyPercentiles: Q;
  errorRateByEndpoint: EndpointRow[];
  ai: {
    calls: number;
    tokens: number;
    inputTokens: number;
    outputTokens: number;
    cachedInputTokens: number;
    neurons: number;
    cost: number;
    unpricedCalls: number;
    latency: Q;
    timeToFirstToken: Q;
    byModel: ModelRow[];
    unpricedModels: { model: string; dataset: string; points: number; tokens: number }[];
  };
  embeddings: {
    calls: number;
    tokens: number;
    vectors: number;
    cost: number;
    unpricedCalls: number;
    latency: Q;
    byModel: { model: string; calls: number; tokens: number; vectors: number; cost: number; latency: Q }[];
  };
  vectorSearch: {
    searches: number;
    meanResults: number | null;
    latency: Q;
    meanRelevance: number | null;
    topRelevance: number | null;
    byIndex: { index: string; searches: number; latency: Q; meanRelevance: number | null }[];
  };
  dbQueries: {
    queries: number;
    rowsRead: number;
    rowsWritten: number;
    latency: Q;
    byQuery: { query: string; count: number; meanLatency: number | null; latency: Q; rowsRead: number; rowsWritten: number }[];
  };
  websocket: {
    openConnections: number;
    opens: number;
    closes: number;
    errors: number;
    abnormalCloses: number;
    disconnectRate: number | null;
    errorRate: number | null;
  };
  gradePassback: {
    attempts: number;
    successes: number;
    failures: number;
    successRate: number | null;
    latency: Q;
    byPlatform: { platform: string; attempts: number; failures: number; successRate: number | null }[];
  };
  intent: {
    predictions: number;
    labelled: number;
    correct: number;
    accuracy: number | null;
    labelledShare: number | null;
    byIntent: { intent: string; predictions: number; labelled: number; correct: number; accuracy: number | null; labelledShare: number | null }[];
  };
}

export interface Bucket extends MetricsBucket {
  aiLatency: Q;
  embeddingLatency: Q;
  vectorSearchLatency: Q;
  meanRelevance: number | null;
  dbQueryLatency: Q;
  wsOpens: number;
  wsCloses: number;
  wsErrors: number;
  gradePassbacks: number;
  gradePassbackSuccessRate: number | null;
  intentPredictions: number;
  intentAccuracy: number | null;
}

export interface PageMetrics extends Figures {
  previous?: Figures;
  series: { interval: string; buckets: Bucket[] };
  meta: { from: string; to: string; interval?: string; elapsedMs: number; source?: string; warnings?: string[] };
}

export { intervalOf };

export function loadPageMetrics(v: View): Promise<PageMetrics> {
  return get<PageMetrics>('/api/v1/metrics', { ...rangeParams(v), interval: intervalOf(v), top: TOP });
}

// rangeSeconds is the length of the metrics' period.
export function rangeSeconds(m: PageMetrics): number {
  return Math.max((Date.parse(m.meta.to) - Date.parse(m.meta.from)) / 1000, 1);
}

// useAfter loads what follows from a loaded value (the metrics): once per
// value, however often the live ticks ask again (a tick reloads the
// metrics, whose new answer starts the next load).
export function useAfter<M, T>(m: M | null, load: (m: M) => Promise<T>): Loaded<T | null> {
  const memo = useRef<{ m: M | null; p: Promise<T | null> } | null>(null);
  return useData<T | null>(() => {
    if (!memo.current || memo.current.m !== m) memo.current = { m, p: m ? load(m) : Promise.resolve(null) };
    return memo.current.p;
  }, [m]);
}

export interface GroupAgg {
  agg: Record<string, unknown>; // a structured query aggregation
  fill: 0 | null; // what a bucket without points holds: 0 for counts and sums
}

// GroupSeries holds, per group and aggregation, one value per metrics
// bucket (aligned with m.series.buckets).
export type GroupSeries = Map<string, Record<string, (number | null)[]>>;

// groupSeries asks POST /api/v1/query once for the buckets of the given
// groups of one field, over exactly the metrics' period and interval.
export async function groupSeries(m: PageMetrics, dataset: string, field: string, groups: string[], aggs: Record<string, GroupAgg>): Promise<GroupSeries> {
  const out: GroupSeries = new Map();
  if (!groups.length) return out;
  const buckets = m.series.buckets;
  const at = new Map(buckets.map((b, i) => [Date.parse(b.t), i]));
  const aggregations: Record<string, unknown> = {};
  for (const [k, a] of Object.entries(aggs)) aggregations[k] = a.agg;
  const r = await send<{ rows: Record<string, unknown>[] }>('POST', '/api/v1/query', {
    dataset,
    range: { from: m.meta.from, to: m.meta.to },
    filter: [{ field, op: 'in', value: groups }],
    groupBy: [field],
    interval: m.series.interval,
    aggregations,
    limit: Math.min(100_000, groups.length * (buckets.length + 2)),
  });
  for (const g of groups) {
    const s: Record<string, (number | null)[]> = {};
    for (const [k, a] of Object.entries(aggs)) s[k] = buckets.map(() => a.fill);
    out.set(g, s);
  }
  for (const row of r.rows ?? []) {
    const s = out.get(String(row[field]));
    const i = at.get(Date.parse(String(row.t)));
    if (!s || i === undefined) continue;
    for (const k of Object.keys(aggs)) {
      const v = row[k];
      s[k][i] = typeof v === 'number' ? v : aggs[k].fill;
    }
  }
  return out;
}

// rate formats events per second: two significant digits below 1.
export function rate(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v === 0) return '0';
  if (v >= 10) return num(v, 1);
  if (v >= 1) return v.toFixed(2);
  return String(Number(v.toPrecision(2)));
}

export function score(v: number | null | undefined): string {
  return v === null || v === undefined ? '–' : v.toFixed(3);
}

// quantCols are the p50, p95 and p99 columns of a table, in ms.
export function quantCols<R>(key: string, q: (r: R) => Q | null | undefined, label = ''): Column<R>[] {
  return (['p50', 'p95', 'p99'] as const).map((p) => ({
    key: key + p,
    label: (label ? label + ' ' : '') + p,
    numeric: true,
    value: (r: R) => q(r)?.[p] ?? null,
    render: (r: R) => ms(q(r)?.[p] ?? null),
  }));
}

// quantLines are a chart's p50, p95 and p99 lines of a bucket's quantiles.
export function quantLines(buckets: Bucket[], q: (b: Bucket) => Q | null | undefined): Line[] {
  return (['p50', 'p95', 'p99'] as const).map((p) => ({ label: p, values: buckets.map((b) => q(b)?.[p] ?? null), unit: ms }));
}

// Meter is a rate 0–100 as a number and a bar (good: high is good).
export function Meter({ value, good = true }: { value: number | null | undefined; good?: boolean }) {
  const v = value === null || value === undefined ? null : Math.max(0, Math.min(100, value));
  return (
    <span class="bk-meter">
      <span class="bk-meter-bar" aria-hidden="true">
        {v !== null && <span class={good ? 'good' : 'bad'} style={{ width: v + '%' }} />}
      </span>
      {pct(value, 1)}
    </span>
  );
}

// Trend is a table cell's sparkline, with its range in words for screen
// readers and a tooltip.
export function Trend({ values, unit, width = 110 }: { values: (number | null)[] | undefined; unit: (v: number | null) => string; width?: number }) {
  if (!values) return <span class="bk-trend muted">–</span>;
  const nums = values.filter((v): v is number => v !== null);
  const words = nums.length ? `from ${unit(Math.min(...nums))} to ${unit(Math.max(...nums))}` : 'no data';
  const max = nums.length ? Math.max(...nums) : 0;
  const min = nums.length ? Math.min(...nums) : 0;
  const w = width, h = 24;
  let d = '';
  if (nums.length >= 2) {
    const span = max - min || 1;
    let pen = false;
    values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      const x = values.length > 1 ? (i / (values.length - 1)) * w : 0;
      const y = h - 2 - ((v - min) / span) * (h - 4);
      d += (pen ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
      pen = true;
    });
  }
  return (
    <span class="bk-trend" title={words}>
      <svg width={w} height={h} class="spark" aria-hidden="true">
        {d && <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />}
      </svg>
      <span class="sr-only">{words}</span>
    </span>
  );
}

// Small is a compact row of big numbers inside a panel.
export function Small({ children }: { children: ComponentChildren }) {
  return <div class="stats bk-small">{children}</div>;
}

// Note is a line of explanation under a panel's title.
export function Note({ children }: { children: ComponentChildren }) {
  return <p class="meta bk-note">{children}</p>;
}

// PeriodMeta says what the figures cover and how fast they came.
export function PeriodMeta({ m }: { m: PageMetrics }) {
  const t = (s: string) => new Date(s).toISOString().slice(0, 16).replace('T', ' ');
  return (
    <p class="meta">
      {t(m.meta.from)} – {t(m.meta.to)} UTC, {m.series.interval} buckets · answered in {m.meta.elapsedMs.toFixed(0)} ms
      {m.meta.source ? ' from ' + m.meta.source : ''}
      {m.meta.warnings?.map((w) => (
        <span class="bk-warn"> · {w}</span>
      ))}
    </p>
  );
}

// sdk is the Go SDK's client line the empty states start from.
export function sdk(call: string): string {
  return `client := alidade.New(alidade.Config{URL: "${location.origin}", Key: os.Getenv("ALIDADE_WRITE_KEY")})
${call}`;
}
