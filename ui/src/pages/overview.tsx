// Overview: the seed's DashboardMetrics (requests, latency, error rate, AI
// tokens and cost) as big numbers against the previous period, and the
// request rate, latency percentiles and error rate over the range.
import { get } from '../api';
import { Chart } from '../chart';
import { ms, num, pct, usd } from '../format';
import { intervalOf, rangeParams, View } from '../state';
import { Empty, Failure, Panel, Stat, times, useData } from '../ui';

export interface Pcts {
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface MetricsBucket {
  t: string;
  requests: number;
  latency: number | null;
  errorRate: number | null;
  latencyPercentiles: Pcts;
  aiCalls: number;
  aiTokens: number;
  aiCost: number;
  [k: string]: unknown;
}

export interface Metrics {
  requests: number;
  latency: number;
  errorRate: number;
  aiUsage: { tokens: number; cost: number };
  latencyPercentiles: Pcts;
  previous: Metrics;
  series: { interval: string; buckets: MetricsBucket[] };
  meta: { from: string; to: string; elapsedMs: number; source?: string };
  [k: string]: any;
}

export function loadMetrics(v: View) {
  return get<Metrics>('/api/v1/metrics', { ...rangeParams(v), interval: intervalOf(v) });
}

export const goSnippet = `client := alidade.New(alidade.Config{URL: "${location.origin}", Key: os.Getenv("ALIDADE_WRITE_KEY")})
http.ListenAndServe(":8081", alidade.Middleware(client, mux))`;

export function Overview({ view }: { view: View }) {
  const { data: m, error } = useData(() => loadMetrics(view), [view.range, view.from, view.to, view.project]);
  if (!m) return <Failure error={error} />;
  const p = m.previous;
  const t = times(m.series.buckets);
  const perSecond = (n: number) => n / (parseIntervalSeconds(m.series.interval) || 1);
  return (
    <>
      <Failure error={error} />
      <div class="stats" aria-label="Key figures">
        <Stat label="Requests" value={num(m.requests)} cur={m.requests} prev={p?.requests} testid="requests" />
        <Stat label="Mean latency" value={ms(m.latency)} cur={m.latency} prev={p?.latency} worse={1} testid="latency" />
        <Stat label="Error rate" value={pct(m.errorRate)} cur={m.errorRate} prev={p?.errorRate} worse={1} testid="errorRate" />
        <Stat label="AI tokens" value={num(m.aiUsage.tokens)} cur={m.aiUsage.tokens} prev={p?.aiUsage?.tokens} testid="aiTokens" />
        <Stat label="AI cost" value={usd(m.aiUsage.cost)} cur={m.aiUsage.cost} prev={p?.aiUsage?.cost} worse={1} testid="aiCost" />
      </div>
      {m.requests === 0 ? (
        <Panel title="Requests" wide>
          <Empty what="No requests in this range. Wrap your Go server's handler with the SDK's middleware:" snippet={goSnippet} />
        </Panel>
      ) : (
        <div class="grid">
          <Panel title="Request rate">
            <Chart title="Requests per second" times={t} lines={[{ label: 'req/s', values: m.series.buckets.map((b) => perSecond(b.requests)), unit: (v) => num(v, 2) }]} />
          </Panel>
          <Panel title="Latency">
            <Chart
              title="Latency percentiles"
              times={t}
              lines={(['p50', 'p95', 'p99'] as const).map((k) => ({ label: k, values: m.series.buckets.map((b) => b.latencyPercentiles?.[k] ?? null), unit: ms }))}
            />
          </Panel>
          <Panel title="Error rate">
            <Chart title="Error rate" times={t} lines={[{ label: 'errors', values: m.series.buckets.map((b) => b.errorRate), unit: (v) => pct(v), color: '#e15759' }]} />
          </Panel>
          <Panel title="AI cost">
            <Chart title="AI cost per interval" times={t} lines={[{ label: 'USD', values: m.series.buckets.map((b) => b.aiCost), unit: usd }]} />
          </Panel>
        </div>
      )}
      <p class="meta">
        {new Date(m.meta.from).toISOString().slice(0, 16).replace('T', ' ')} – {new Date(m.meta.to).toISOString().slice(0, 16).replace('T', ' ')} UTC · answered in{' '}
        {m.meta.elapsedMs.toFixed(0)} ms{m.meta.source ? ' from ' + m.meta.source : ''}
      </p>
    </>
  );
}

// parseIntervalSeconds reads "15m", "2h", "1d", "30s".
export function parseIntervalSeconds(s: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(s);
  if (!m) return 0;
  const n = Number(m[1]);
  return n * ({ ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m[2]];
}
