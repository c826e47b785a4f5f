// Backend: the endpoints (rate, latency percentiles, error rate, a trend per
// row), database queries, WebSocket connections and LTI grade passback,
// from GET /api/v1/metrics; the endpoints' trends come from one structured
// query (POST /api/v1/query) for the listed endpoints.
import { useMemo, useState } from 'preact/hooks';
import { Chart, Line } from '../chart';
import { ms, num, pct } from '../format';
import { View } from '../state';
import { Column, Empty, Failure, Panel, Stat, Table, times, useData } from '../ui';
import { goSnippet, parseIntervalSeconds } from './overview';
import {
  Bucket,
  EndpointRow,
  groupSeries,
  loadPageMetrics,
  Meter,
  Note,
  PageMetrics,
  PeriodMeta,
  quantCols,
  quantLines,
  rangeSeconds,
  rate,
  sdk,
  Small,
  TOP,
  Trend,
  useAfter,
} from './backend-parts';

export function Backend({ view }: { view: View }) {
  const { data: m, error } = useData(() => loadPageMetrics(view), [view.range, view.from, view.to, view.project]);
  if (!m) return error ? <Failure error={error} /> : <p class="loading">Loading…</p>;
  const p = m.previous;
  const secs = rangeSeconds(m);
  return (
    <div class="bk-page">
      <Failure error={error} />
      <div class="stats" aria-label="Key figures">
        <Stat label="Request rate" value={rate(m.requests / secs) + ' /s'} cur={m.requests} prev={p?.requests} testid="bk-rate" />
        <Stat label="p95 latency" value={ms(m.latencyPercentiles.p95)} cur={m.latencyPercentiles.p95} prev={p?.latencyPercentiles?.p95} worse={1} testid="bk-p95" />
        <Stat label="Error rate" value={m.requests ? pct(m.errorRate) : '–'} cur={m.errorRate} prev={p?.errorRate} worse={1} testid="bk-errorRate" />
        <Stat label="DB query p95" value={ms(m.dbQueries.latency.p95)} cur={m.dbQueries.latency.p95} prev={p?.dbQueries?.latency?.p95} worse={1} testid="bk-db-p95" />
        <Stat label="WebSockets open" value={num(m.websocket.openConnections)} cur={m.websocket.openConnections} prev={p?.websocket?.openConnections} testid="bk-ws-open" />
        <Stat
          label="Grade passback success"
          value={pct(m.gradePassback.successRate, 1)}
          cur={m.gradePassback.successRate}
          prev={p?.gradePassback?.successRate}
          worse={-1}
          testid="bk-grade"
        />
      </div>
      <Endpoints m={m} />
      <DBQueries m={m} />
      <div class="grid">
        <WebSockets m={m} />
        <GradePassback m={m} />
      </div>
      <PeriodMeta m={m} />
    </div>
  );
}

type TrendKey = 'rate' | 'p95' | 'err';
const trendUnits: Record<TrendKey, { label: string; unit: (v: number | null) => string }> = {
  rate: { label: 'Requests per second', unit: (v) => rate(v) + ' /s' },
  p95: { label: 'p95 latency', unit: ms },
  err: { label: 'Error rate', unit: (v) => pct(v, 1) },
};

// bucketSeconds is how much of the period each bucket covers (the first
// and last are cut by the range), so a rate per bucket does not dip at
// the edges.
function bucketSeconds(m: PageMetrics): number[] {
  const step = parseIntervalSeconds(m.series.interval) * 1000;
  const from = Date.parse(m.meta.from), to = Date.parse(m.meta.to);
  return m.series.buckets.map((b) => {
    const t = Date.parse(b.t);
    return Math.max((Math.min(t + step, to) - Math.max(t, from)) / 1000, 0);
  });
}

function Endpoints({ m }: { m: PageMetrics }) {
  const [trend, setTrend] = useState<TrendKey>('rate');
  const rows = m.errorRateByEndpoint;
  const secs = rangeSeconds(m);
  // The trends are made with the metrics they were asked for (their
  // buckets), and stay on screen while the next answer loads.
  const series = useAfter(m, async (m) => {
    const s = await groupSeries(
      m,
      'requests',
      'endpoint',
      m.errorRateByEndpoint.map((r) => r.endpoint),
      {
        n: { agg: { type: 'count' }, fill: 0 },
        p95: { agg: { type: 'quantile', field: 'duration', q: 0.95 }, fill: null },
        err: { agg: { type: 'percentage', filter: { field: 'status', op: '>=', value: 400 } }, fill: null },
      },
    );
    const cover = bucketSeconds(m);
    const out = new Map<string, Record<TrendKey, (number | null)[]>>();
    for (const [g, v] of s) out.set(g, { rate: v.n.map((n, i) => (cover[i] > 0 ? (n ?? 0) / cover[i] : null)), p95: v.p95, err: v.err });
    return out;
  });
  const trends = series.data ?? new Map<string, Record<TrendKey, (number | null)[]>>();
  const unit = trendUnits[trend].unit;
  const columns: Column<EndpointRow>[] = [
    {
      key: 'endpoint',
      label: 'Endpoint',
      value: (r) => r.endpoint,
      render: (r) => (
        <span class="bk-name" title={r.endpoint}>
          {r.endpoint || '(none)'}
        </span>
      ),
    },
    { key: 'rate', label: 'Rate (req/s)', numeric: true, value: (r) => r.requests / secs, render: (r) => rate(r.requests / secs) },
    { key: 'requests', label: 'Requests', numeric: true, value: (r) => r.requests, render: (r) => num(r.requests) },
    ...quantCols<EndpointRow>('lat', (r) => r.latencyPercentiles),
    { key: 'errorRate', label: 'Error rate', numeric: true, value: (r) => r.errorRate, render: (r) => <span class={r.errorRate >= 5 ? 'bk-bad' : ''}>{pct(r.errorRate)}</span> },
    { key: 'errors', label: 'Errors', numeric: true, value: (r) => r.errors, render: (r) => num(r.errors) },
    {
      key: 'trend',
      label: 'Trend',
      value: (r) => {
        const v = trends.get(r.endpoint)?.[trend]?.filter((x): x is number => x !== null) ?? [];
        return v.length ? Math.max(...v) : null;
      },
      render: (r) => <Trend values={series.data ? trends.get(r.endpoint)?.[trend] : undefined} unit={unit} />,
    },
  ];
  return (
    <Panel
      title="Endpoints"
      wide
      actions={
        rows.length > 0 && (
          <label class="bk-actions">
            Trend
            <select value={trend} onChange={(e) => setTrend((e.target as HTMLSelectElement).value as TrendKey)} aria-label="Trend column shows" data-testid="bk-trend">
              {(Object.keys(trendUnits) as TrendKey[]).map((k) => (
                <option value={k}>{trendUnits[k].label}</option>
              ))}
            </select>
          </label>
        )
      }
    >
      {m.requests === 0 ? (
        <Empty what="No requests in this range. Wrap your Go server's handler with the SDK's middleware:" snippet={goSnippet} />
      ) : (
        <>
          <Note>
            {rows.length >= TOP ? `The ${TOP} endpoints with the most errors` : `${rows.length} endpoint${rows.length === 1 ? '' : 's'}`}; rate is requests per second over the range. Click a heading to sort.
          </Note>
          <Failure error={series.error} />
          <Table label="Endpoints" rows={rows} columns={columns} initial="rate" />
        </>
      )}
    </Panel>
  );
}

type QueryRow = PageMetrics['dbQueries']['byQuery'][number];

function DBQueries({ m }: { m: PageMetrics }) {
  const d = m.dbQueries, p = m.previous?.dbQueries;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lines = useMemo(() => quantLines(m.series.buckets, (b) => b.dbQueryLatency), [m]);
  const secs = rangeSeconds(m);
  const columns: Column<QueryRow>[] = [
    { key: 'query', label: 'Query', value: (r) => r.query, render: (r) => <span class="bk-name" title={r.query}>{r.query || '(none)'}</span> },
    { key: 'count', label: 'Count', numeric: true, value: (r) => r.count, render: (r) => num(r.count) },
    { key: 'rate', label: 'Rate (/s)', numeric: true, value: (r) => r.count / secs, render: (r) => rate(r.count / secs) },
    { key: 'mean', label: 'Mean', numeric: true, value: (r) => r.meanLatency, render: (r) => ms(r.meanLatency) },
    ...quantCols<QueryRow>('lat', (r) => r.latency),
    { key: 'rowsRead', label: 'Rows read', numeric: true, value: (r) => r.rowsRead, render: (r) => num(r.rowsRead) },
    { key: 'rowsWritten', label: 'Rows written', numeric: true, value: (r) => r.rowsWritten, render: (r) => num(r.rowsWritten) },
  ];
  return (
    <Panel title="Database queries" wide>
      {d.queries === 0 ? (
        <Empty
          what="No database queries in this range. Time each query (D1 or any database) and record it by name:"
          snippet={sdk(`start := time.Now()
row := db.QueryRowContext(ctx, "SELECT name FROM users WHERE id = ?", id)
client.TrackDBQuery(alidade.DBQuery{Name: "users.by_id", Database: "main", Operation: "select",
	Latency: time.Since(start), RowsRead: 1})`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Queries" value={num(d.queries)} cur={d.queries} prev={p?.queries} />
            <Stat label="Rows read" value={num(d.rowsRead)} cur={d.rowsRead} prev={p?.rowsRead} />
            <Stat label="Rows written" value={num(d.rowsWritten)} cur={d.rowsWritten} prev={p?.rowsWritten} />
            <Stat label="p50" value={ms(d.latency.p50)} cur={d.latency.p50} prev={p?.latency?.p50} worse={1} />
            <Stat label="p99" value={ms(d.latency.p99)} cur={d.latency.p99} prev={p?.latency?.p99} worse={1} />
          </Small>
          <Chart title="Database query latency percentiles" times={t} lines={lines} height={180} />
          <h3>Slowest queries</h3>
          <Note>{d.byQuery.length >= TOP ? `The ${TOP} query names with the highest p95 latency.` : 'Query names by p95 latency.'}</Note>
          <Table label="Database queries by name" rows={d.byQuery} columns={columns} initial="latp95" />
        </>
      )}
    </Panel>
  );
}

// openOver derives the open connections at the end of each bucket from the
// count at the end of the period: open(i) = open(end) − Σ_{j>i}(opens − closes).
function openOver(buckets: Bucket[], openNow: number): (number | null)[] {
  const out: (number | null)[] = new Array(buckets.length).fill(null);
  let open = openNow;
  for (let i = buckets.length - 1; i >= 0; i--) {
    out[i] = Math.max(open, 0);
    open -= (buckets[i].wsOpens ?? 0) - (buckets[i].wsCloses ?? 0);
  }
  return out;
}

function WebSockets({ m }: { m: PageMetrics }) {
  const w = m.websocket, p = m.previous?.websocket;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const open = useMemo<Line[]>(() => [{ label: 'open', values: openOver(m.series.buckets, w.openConnections), unit: (v) => num(v) }], [m]);
  const flow = useMemo<Line[]>(
    () => [
      { label: 'opens', values: m.series.buckets.map((b) => b.wsOpens), unit: (v) => num(v) },
      { label: 'closes', values: m.series.buckets.map((b) => b.wsCloses), unit: (v) => num(v) },
      { label: 'errors', values: m.series.buckets.map((b) => b.wsErrors), unit: (v) => num(v), color: '#e15759' },
    ],
    [m],
  );
  const none = w.opens + w.closes + w.errors === 0 && w.openConnections === 0;
  return (
    <Panel title="WebSocket connections">
      {none ? (
        <Empty
          what="No WebSocket events in this range. Record each connection's open and close (the server counts open ones from them):"
          snippet={sdk(`client.TrackWebSocket(alidade.WebSocketEvent{Kind: alidade.WSOpen, Channel: "chat"})
// when it ends (1000 and 1001 are normal closes, any other code a drop):
client.TrackWebSocket(alidade.WebSocketEvent{Kind: alidade.WSClose, Channel: "chat",
	Code: code, SessionLength: time.Since(opened)})`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Opened" value={num(w.opens)} cur={w.opens} prev={p?.opens} />
            <Stat label="Closed" value={num(w.closes)} cur={w.closes} prev={p?.closes} />
            <Stat label="Drops" value={num(w.abnormalCloses)} cur={w.abnormalCloses} prev={p?.abnormalCloses} worse={1} testid="bk-ws-drops" />
            <Stat label="Drop rate" value={pct(w.disconnectRate, 1)} cur={w.disconnectRate} prev={p?.disconnectRate} worse={1} />
            <Stat label="Errors" value={num(w.errors)} cur={w.errors} prev={p?.errors} worse={1} />
          </Small>
          <Note>Drops are closes with a code other than 1000 or 1001; the drop rate is their share of closes.</Note>
          <h3>Open connections</h3>
          <Chart title="Open WebSocket connections at the end of each interval" times={t} lines={open} height={140} />
          <h3>Opens, closes and errors per {m.series.interval}</h3>
          <Chart title={'WebSocket opens, closes and errors per ' + m.series.interval} times={t} lines={flow} height={140} />
        </>
      )}
    </Panel>
  );
}

type PlatformRow = PageMetrics['gradePassback']['byPlatform'][number];

function GradePassback({ m }: { m: PageMetrics }) {
  const g = m.gradePassback, p = m.previous?.gradePassback;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lines = useMemo<Line[]>(
    () => [{ label: 'success', values: m.series.buckets.map((b) => b.gradePassbackSuccessRate), unit: (v) => pct(v, 1), color: '#59a14f' }],
    [m],
  );
  const columns: Column<PlatformRow>[] = [
    { key: 'platform', label: 'Platform', value: (r) => r.platform, render: (r) => <span class="bk-name">{r.platform || '(none)'}</span> },
    { key: 'attempts', label: 'Attempts', numeric: true, value: (r) => r.attempts, render: (r) => num(r.attempts) },
    { key: 'failures', label: 'Failures', numeric: true, value: (r) => r.failures, render: (r) => num(r.failures) },
    { key: 'successRate', label: 'Success', numeric: true, value: (r) => r.successRate, render: (r) => <Meter value={r.successRate} /> },
  ];
  return (
    <Panel title="Grade passback">
      {g.attempts === 0 ? (
        <Empty
          what="No grade passbacks in this range. Record each grade sent to a learning platform (LTI):"
          snippet={sdk(`start := time.Now()
err := lti.SendScore(ctx, lineItem, score)
client.TrackGradePassback(alidade.GradePassback{Platform: "canvas", Course: courseID,
	Success: err == nil, ErrorClass: errorClass(err), Latency: time.Since(start), Attempt: 1, Score: score})`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Attempts" value={num(g.attempts)} cur={g.attempts} prev={p?.attempts} />
            <Stat label="Failures" value={num(g.failures)} cur={g.failures} prev={p?.failures} worse={1} />
            <Stat label="Latency p95" value={ms(g.latency.p95)} cur={g.latency.p95} prev={p?.latency?.p95} worse={1} />
          </Small>
          <h3>Success by platform</h3>
          <Table label="Grade passback success by platform" rows={g.byPlatform} columns={columns} initial="attempts" />
          <h3>Success rate</h3>
          <Chart title="Grade passback success rate" times={t} lines={lines} height={140} />
        </>
      )}
    </Panel>
  );
}
