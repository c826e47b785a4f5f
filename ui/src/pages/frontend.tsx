// Frontend: what browsers saw (GET /api/v1/web): visitors, visits, page
// views, bounce rate and visit duration against the period before; page
// views over the range (POST /api/v1/query); pages, sources, devices and
// countries; Core Web Vitals p75 with their good / needs-improvement /
// poor shares, overall and per page; JavaScript errors; API calls as the
// browsers timed them; Redux actions; the browsers' WebSockets.
import { useMemo } from 'preact/hooks';
import { get, send } from '../api';
import { Chart } from '../chart';
import { ms, num, pct } from '../format';
import { navigate, rangeParams, View } from '../state';
import { Column, Empty, Failure, Panel, Stat, Table, useData } from '../ui';
import { buckets, dur, fill, intervalOf, publicKeyOf, queryRange, QueryAnswer, Rated, rating, RATING_WORDS, Share, Tabs, useProjectInfo, vitalValue, VITALS } from './frontend-parts';
import './frontend.css';

interface Summary {
  visitors: number;
  visits: number;
  pageViews: number;
  viewsPerVisit: number | null;
  bounceRate: number | null;
  visitDuration: number | null;
  jsErrors: number;
  jsErrorRate: number | null;
}

interface Breakdown {
  name: string;
  visits: number;
  pageViews: number;
}

export interface Vital {
  metric: string;
  samples: number;
  p75: number | null;
  good: number | null;
  needsImprovement: number | null;
  poor: number | null;
  thresholds: [number, number];
}

export interface WebReport {
  summary: Summary;
  previous: Summary;
  pages: { page: string; pageViews: number; entries: number }[];
  entryPages: { page: string; entries: number; bounces: number; bounceRate: number | null }[];
  exitPages: { page: string; exits: number; pageViews: number; exitRate: number | null }[];
  referrers: Breakdown[];
  utm: { sources: Breakdown[]; mediums: Breakdown[]; campaigns: Breakdown[] };
  devices: Breakdown[];
  browsers: Breakdown[];
  os: Breakdown[];
  countries: Breakdown[];
  vitals: { metrics: Vital[]; byPage: { page: string; metrics: Vital[] }[] };
  errors: {
    errors: number;
    pageViews: number;
    errorRate: number | null;
    byPage: { page: string; errors: number; pageViews: number; errorRate: number | null }[];
    byType: { type: string; errors: number }[];
  };
  apiCalls: { endpoint: string; calls: number; failures: number; failureRate: number | null; p50: number | null; p95: number | null }[];
  websocket: { opens: number; closes: number; abnormalCloses: number; dropRate: number | null; reconnects: number; errors: number };
  actions: { action: string; count: number; p50: number | null; p95: number | null }[];
  meta: { from: string; to: string; previousFrom: string; previousTo: string; top: number; source: string; elapsedMs: number; warnings?: string[] };
}

interface TrafficRow {
  t: string;
  views: number;
  visits: number;
  errors: number;
}

const TOP = 20;

export function loadWeb(v: View) {
  return get<WebReport>('/api/v1/web', { ...rangeParams(v), top: TOP });
}

function loadTraffic(v: View) {
  return send<QueryAnswer<TrafficRow>>('POST', '/api/v1/query', {
    dataset: 'pageviews',
    range: queryRange(v),
    interval: intervalOf(v),
    limit: 10000,
    aggregations: {
      views: { type: 'count' },
      visits: { type: 'sum', field: 'entry' },
      errors: { type: 'count', dataset: 'client_errors' },
    },
  });
}

export function Frontend({ view }: { view: View }) {
  const deps = [view.range, view.from, view.to, view.project];
  const { data: w, error } = useData(() => loadWeb(view), deps);
  const traffic = useData(() => loadTraffic(view), deps);
  if (!w) return <Failure error={error} />;
  const s = w.summary, p = w.previous;
  const nothing =
    s.pageViews === 0 && s.jsErrors === 0 && w.apiCalls.length === 0 && w.actions.length === 0 && w.websocket.opens === 0 && w.vitals.metrics.every((m) => m.samples === 0);
  return (
    <>
      <Failure error={error} />
      <div class="stats" aria-label="Key figures">
        <Stat label="Visitors" value={num(s.visitors)} cur={s.visitors} prev={p.visitors} testid="visitors" />
        <Stat label="Visits" value={num(s.visits)} cur={s.visits} prev={p.visits} testid="visits" />
        <Stat label="Page views" value={num(s.pageViews)} cur={s.pageViews} prev={p.pageViews} testid="pageViews" />
        <Stat label="Views per visit" value={num(s.viewsPerVisit, 2)} cur={s.viewsPerVisit} prev={p.viewsPerVisit} testid="viewsPerVisit" />
        <Stat label="Bounce rate" value={pct(s.bounceRate, 1)} cur={s.bounceRate} prev={p.bounceRate} worse={1} testid="bounceRate" />
        <Stat label="Visit duration" value={dur(s.visitDuration)} cur={s.visitDuration} prev={p.visitDuration} worse={-1} testid="visitDuration" />
        <Stat label="JS errors" value={num(s.jsErrors)} cur={s.jsErrors} prev={p.jsErrors} worse={1} testid="jsErrors" />
        <Stat label="JS errors / 100 views" value={num(s.jsErrorRate, 2)} cur={s.jsErrorRate} prev={p.jsErrorRate} worse={1} testid="jsErrorRate" />
      </div>
      {nothing ? (
        <Panel title="Browsers" wide>
          <ScriptSnippet view={view} what="No page views, Web Vitals or browser errors in this range. Put the browser SDK's tag in your pages, before the app's own scripts:" />
        </Panel>
      ) : (
        <div class="grid">
          <Panel title="Traffic" wide>
            <Traffic interval={intervalOf(view)} rows={traffic.data} error={traffic.error} />
          </Panel>
          <Panel title="Core Web Vitals (p75)" wide>
            <Vitals w={w} view={view} />
          </Panel>
          <Panel title="Pages">
            <Pages w={w} view={view} />
          </Panel>
          <Panel title="Sources">
            <Sources w={w} view={view} />
          </Panel>
          <Panel title="Devices">
            <Devices w={w} view={view} />
          </Panel>
          <Panel title="Countries">
            <BreakdownTable rows={w.countries} label="Countries" name="Country" total={s.visits} show={countryName} />
          </Panel>
          <Panel title="JavaScript errors" wide>
            <JSErrors w={w} rows={traffic.data} interval={intervalOf(view)} />
          </Panel>
          <Panel title="API calls seen by browsers" wide>
            <APICalls w={w} />
          </Panel>
          <Panel title="Redux actions">
            <Actions w={w} />
          </Panel>
          <Panel title="WebSockets (browsers)">
            <Sockets w={w} />
          </Panel>
        </div>
      )}
      {w.meta.warnings?.map((m) => (
        <p class="meta" role="note">
          {m}
        </p>
      ))}
      <p class="meta">
        {utc(w.meta.from)} – {utc(w.meta.to)} UTC, against {utc(w.meta.previousFrom)} – {utc(w.meta.previousTo)} · answered in {w.meta.elapsedMs.toFixed(0)} ms from{' '}
        {w.meta.source}
      </p>
    </>
  );
}

export function utc(iso: string): string {
  return new Date(iso).toISOString().slice(0, 16).replace('T', ' ');
}

// ScriptSnippet is the tag that fills this page, with the project's
// public key when the session may read it (admin), else a placeholder.
export function ScriptSnippet({ view, what }: { view: View; what: string }) {
  const { dsn } = useProjectInfo(view);
  const key = publicKeyOf(dsn);
  const snippet = `<script defer src="${location.origin}/sdk.js" data-key="${key ?? 'ald_public_…'}"></script>`;
  return (
    <>
      <Empty what={what} snippet={snippet} />
      {!key && (
        <p class="meta">
          Replace ald_public_… with the project's public key: an admin session shows it here, and <code>alidade projects dsn NAME</code> prints the DSN that holds it.
        </p>
      )}
    </>
  );
}

function Traffic({ interval, rows, error }: { interval: string; rows: QueryAnswer<TrafficRow> | null; error: Error | null }) {
  const c = useMemo(() => {
    if (!rows) return null;
    const ts = buckets(rows.meta.from, rows.meta.to, interval);
    return {
      ts,
      lines: [
        { label: 'page views', values: fill(ts, rows.rows, (r) => r.views), unit: (v: number | null) => num(v) },
        { label: 'visits', values: fill(ts, rows.rows, (r) => r.visits), unit: (v: number | null) => num(v) },
      ],
    };
  }, [rows, interval]);
  if (!c) return error ? <Failure error={error} /> : <p class="loading">Loading…</p>;
  return <Chart title="Page views and visits over the range" times={c.ts} lines={c.lines} />;
}

function Vitals({ w, view }: { w: WebReport; view: View }) {
  const shown = w.vitals.metrics.filter((m) => m.metric !== 'FID' || m.samples > 0);
  return (
    <>
      <ul class="fe-vitals" aria-label="Web Vitals over every page">
        {shown.map((m) => {
          const r = rating(m.p75, m.thresholds);
          return (
            <li class={'fe-vital ' + r} data-testid={'vital-' + m.metric}>
              <div class="fe-vital-head">
                <abbr title={VITALS[m.metric]?.name}>{m.metric}</abbr>
                <span class="meta">{num(m.samples)} samples</span>
              </div>
              <div class={'fe-vital-value ' + r} data-value={m.p75 ?? ''}>
                {vitalValue(m.metric, m.p75)}
                {r && <span class="sr-only"> ({RATING_WORDS[r]})</span>}
              </div>
              <Rated good={m.good} ni={m.needsImprovement} poor={m.poor} />
              <div class="meta">
                good ≤ {vitalValue(m.metric, m.thresholds[0])}, poor &gt; {vitalValue(m.metric, m.thresholds[1])}
              </div>
            </li>
          );
        })}
      </ul>
      <h3 class="fe-sub">By page</h3>
      <Tabs tabs={shown.map((m) => ({ key: m.metric, label: m.metric }))} label="Vital by page" param="vital" view={view}>
        {(k) => <VitalsByPage w={w} metric={k} key={k} />}
      </Tabs>
    </>
  );
}

function VitalsByPage({ w, metric }: { w: WebReport; metric: string }) {
  const rows = w.vitals.byPage
    .map((p) => ({ page: p.page, v: p.metrics.find((m) => m.metric === metric) }))
    .filter((r): r is { page: string; v: Vital } => !!r.v && r.v.samples > 0);
  if (!rows.length) return <p class="meta">No {metric} samples on the top pages in this range.</p>;
  const cols: Column<(typeof rows)[0]>[] = [
    { key: 'page', label: 'Page', value: (r) => r.page, render: (r) => <span class="fe-path" title={r.page}>{r.page}</span> },
    { key: 'samples', label: 'Samples', value: (r) => r.v.samples, render: (r) => num(r.v.samples), numeric: true },
    {
      key: 'p75',
      label: 'p75',
      value: (r) => r.v.p75,
      numeric: true,
      render: (r) => {
        const g = rating(r.v.p75, r.v.thresholds);
        return (
          <span class={'fe-val ' + g} title={RATING_WORDS[g]}>
            {vitalValue(metric, r.v.p75)}
          </span>
        );
      },
    },
    { key: 'good', label: 'Good / needs improvement / poor (%)', value: (r) => r.v.poor, render: (r) => <Rated good={r.v.good} ni={r.v.needsImprovement} poor={r.v.poor} /> },
  ];
  return <Table rows={rows} columns={cols} initial="p75" label={metric + ' p75 by page'} />;
}

function Pages({ w, view }: { w: WebReport; view: View }) {
  if (!w.pages.length) return <p class="meta">No page views in this range.</p>;
  const total = w.summary.pageViews;
  return (
    <Tabs
      tabs={[
        { key: 'top', label: 'Top pages' },
        { key: 'entry', label: 'Entry pages' },
        { key: 'exit', label: 'Exit pages' },
      ]}
      label="Pages"
      param="pages"
      view={view}
    >
      {(k) =>
        k === 'top' ? (
          <Table
            key="top"
            rows={w.pages}
            label="Top pages"
            initial="pageViews"
            columns={[
              { key: 'page', label: 'Page', value: (r) => r.page, render: (r) => <span class="fe-path" title={r.page}>{r.page}</span> },
              { key: 'pageViews', label: 'Views', value: (r) => r.pageViews, render: (r) => num(r.pageViews), numeric: true },
              { key: 'share', label: 'Share', value: (r) => r.pageViews, render: (r) => <Share part={r.pageViews} whole={total} /> },
              { key: 'entries', label: 'Entries', value: (r) => r.entries, render: (r) => num(r.entries), numeric: true },
            ]}
          />
        ) : k === 'entry' ? (
          <Table
            key="entry"
            rows={w.entryPages}
            label="Entry pages"
            initial="entries"
            columns={[
              { key: 'page', label: 'Page', value: (r) => r.page, render: (r) => <span class="fe-path" title={r.page}>{r.page}</span> },
              { key: 'entries', label: 'Entries', value: (r) => r.entries, render: (r) => num(r.entries), numeric: true },
              { key: 'bounces', label: 'Bounces', value: (r) => r.bounces, render: (r) => num(r.bounces), numeric: true },
              { key: 'bounceRate', label: 'Bounce rate', value: (r) => r.bounceRate, render: (r) => pct(r.bounceRate, 1), numeric: true },
            ]}
          />
        ) : (
          <Table
            key="exit"
            rows={w.exitPages}
            label="Exit pages"
            initial="exits"
            columns={[
              { key: 'page', label: 'Page', value: (r) => r.page, render: (r) => <span class="fe-path" title={r.page}>{r.page}</span> },
              { key: 'exits', label: 'Exits', value: (r) => r.exits, render: (r) => num(r.exits), numeric: true },
              { key: 'pageViews', label: 'Views', value: (r) => r.pageViews, render: (r) => num(r.pageViews), numeric: true },
              { key: 'exitRate', label: 'Exit rate', value: (r) => r.exitRate, render: (r) => pct(r.exitRate, 1), numeric: true },
            ]}
          />
        )
      }
    </Tabs>
  );
}

function BreakdownTable({ rows, label, name, total, show }: { rows: Breakdown[]; label: string; name: string; total: number; show?: (n: string) => string }) {
  if (!rows.length) return <p class="meta">Nothing in this range.</p>;
  return (
    <Table
      key={label}
      rows={rows}
      label={label}
      initial="visits"
      columns={[
        { key: 'name', label: name, value: (r) => r.name, render: (r) => <span class="fe-path">{show ? show(r.name) : r.name || 'unknown'}</span> },
        { key: 'visits', label: 'Visits', value: (r) => r.visits, render: (r) => num(r.visits), numeric: true },
        { key: 'share', label: 'Share', value: (r) => r.visits, render: (r) => <Share part={r.visits} whole={total} /> },
        { key: 'pageViews', label: 'Views', value: (r) => r.pageViews, render: (r) => num(r.pageViews), numeric: true },
      ]}
    />
  );
}

function Sources({ w, view }: { w: WebReport; view: View }) {
  const total = w.summary.visits;
  return (
    <Tabs
      tabs={[
        { key: 'referrers', label: 'Referrers' },
        { key: 'utm_source', label: 'UTM source' },
        { key: 'utm_medium', label: 'Medium' },
        { key: 'utm_campaign', label: 'Campaign' },
      ]}
      label="Sources"
      param="sources"
      view={view}
    >
      {(k) =>
        k === 'referrers' ? (
          <BreakdownTable rows={w.referrers} label="Referrers" name="Referrer" total={total} show={(n) => n || 'Direct / none'} />
        ) : k === 'utm_source' ? (
          <BreakdownTable rows={w.utm.sources} label="UTM sources" name="utm_source" total={total} show={(n) => n || 'untagged'} />
        ) : k === 'utm_medium' ? (
          <BreakdownTable rows={w.utm.mediums} label="UTM mediums" name="utm_medium" total={total} show={(n) => n || 'untagged'} />
        ) : (
          <BreakdownTable rows={w.utm.campaigns} label="UTM campaigns" name="utm_campaign" total={total} show={(n) => n || 'untagged'} />
        )
      }
    </Tabs>
  );
}

function Devices({ w, view }: { w: WebReport; view: View }) {
  const total = w.summary.visits;
  return (
    <Tabs
      tabs={[
        { key: 'devices', label: 'Devices' },
        { key: 'browsers', label: 'Browsers' },
        { key: 'os', label: 'OS' },
      ]}
      label="Devices"
      param="devices"
      view={view}
    >
      {(k) =>
        k === 'devices' ? (
          <BreakdownTable rows={w.devices} label="Devices" name="Device" total={total} />
        ) : k === 'browsers' ? (
          <BreakdownTable rows={w.browsers} label="Browsers" name="Browser" total={total} />
        ) : (
          <BreakdownTable rows={w.os} label="Operating systems" name="OS" total={total} />
        )
      }
    </Tabs>
  );
}

let regions: Intl.DisplayNames | null = null;

function countryName(code: string): string {
  if (!code) return 'unknown';
  try {
    regions ??= new Intl.DisplayNames(['en'], { type: 'region' });
    const n = regions.of(code.toUpperCase());
    return n && n !== code ? `${n} (${code})` : code;
  } catch {
    return code;
  }
}

function JSErrors({ w, rows, interval }: { w: WebReport; rows: QueryAnswer<TrafficRow> | null; interval: string }) {
  const e = w.errors;
  const c = useMemo(() => {
    if (!rows) return null;
    const ts = buckets(rows.meta.from, rows.meta.to, interval);
    return { ts, lines: [{ label: 'errors', values: fill(ts, rows.rows, (r) => r.errors), unit: (v: number | null) => num(v), color: '#e15759' }] };
  }, [rows, interval]);
  if (e.errors === 0) return <p class="meta">No JavaScript errors in this range{w.summary.pageViews ? ` over ${num(w.summary.pageViews)} page views` : ''}.</p>;
  return (
    <div class="fe-errors">
      <div class="fe-errors-chart">
        <p class="fe-big">
          <strong>{num(e.errorRate, 2)}</strong> errors per 100 page views · {num(e.errors)} errors
        </p>
        {c && c.ts.length > 0 && <Chart title="JavaScript errors over the range" height={160} times={c.ts} lines={c.lines} />}
      </div>
      <div>
        <h3 class="fe-sub">By page</h3>
        <Table
          rows={e.byPage}
          label="JavaScript errors by page"
          initial="errors"
          columns={[
            { key: 'page', label: 'Page', value: (r) => r.page, render: (r) => <span class="fe-path" title={r.page}>{r.page || 'unknown'}</span> },
            { key: 'errors', label: 'Errors', value: (r) => r.errors, render: (r) => num(r.errors), numeric: true },
            { key: 'pageViews', label: 'Views', value: (r) => r.pageViews, render: (r) => num(r.pageViews), numeric: true },
            { key: 'errorRate', label: 'Per 100 views', value: (r) => r.errorRate, render: (r) => num(r.errorRate, 1), numeric: true },
          ]}
        />
      </div>
      <div>
        <h3 class="fe-sub">By type</h3>
        <Table
          rows={e.byType}
          label="JavaScript errors by type"
          initial="errors"
          columns={[
            {
              key: 'type',
              label: 'Type',
              value: (r) => r.type,
              render: (r) => (
                <a
                  href={'/errors?query=' + encodeURIComponent(r.type)}
                  title={'Error groups matching ' + r.type}
                  onClick={(ev) => {
                    if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
                    ev.preventDefault();
                    navigate('/errors', { query: r.type, status: 'all' });
                  }}
                >
                  {r.type || 'unknown'}
                </a>
              ),
            },
            { key: 'errors', label: 'Errors', value: (r) => r.errors, render: (r) => num(r.errors), numeric: true },
            { key: 'share', label: 'Share', value: (r) => r.errors, render: (r) => <Share part={r.errors} whole={e.errors} /> },
          ]}
        />
      </div>
    </div>
  );
}

function APICalls({ w }: { w: WebReport }) {
  if (!w.apiCalls.length)
    return (
      <Empty
        what="No API calls timed by browsers in this range. The browser SDK's instrumentFetch() times every fetch:"
        snippet={`import { instrumentFetch } from '@alidade/sdk';\ninstrumentFetch(); // every fetch → api_calls, "GET /api/lessons/:id"`}
      />
    );
  return (
    <Table
      rows={w.apiCalls}
      label="API calls seen by browsers"
      initial="calls"
      columns={[
        { key: 'endpoint', label: 'Endpoint', value: (r) => r.endpoint, render: (r) => <span class="fe-path" title={r.endpoint}>{r.endpoint}</span> },
        { key: 'calls', label: 'Calls', value: (r) => r.calls, render: (r) => num(r.calls), numeric: true },
        { key: 'failures', label: 'Failures', value: (r) => r.failures, render: (r) => num(r.failures), numeric: true },
        {
          key: 'failureRate',
          label: 'Failure rate',
          value: (r) => r.failureRate,
          render: (r) => <span class={r.failureRate !== null && r.failureRate >= 5 ? 'fe-val poor' : ''}>{pct(r.failureRate, 1)}</span>,
          numeric: true,
        },
        { key: 'p50', label: 'p50', value: (r) => r.p50, render: (r) => ms(r.p50), numeric: true },
        { key: 'p95', label: 'p95', value: (r) => r.p95, render: (r) => ms(r.p95), numeric: true },
      ]}
    />
  );
}

function Actions({ w }: { w: WebReport }) {
  if (!w.actions.length)
    return (
      <Empty
        what="No Redux actions in this range. Add the SDK's middleware to the store:"
        snippet={`import { alidadeMiddleware } from '@alidade/sdk';\nconfigureStore({ reducer, middleware: (gdm) => gdm().concat(alidadeMiddleware()) });`}
      />
    );
  return (
    <Table
      rows={w.actions}
      label="Redux actions"
      initial="count"
      columns={[
        { key: 'action', label: 'Action', value: (r) => r.action, render: (r) => <span class="fe-path" title={r.action}>{r.action}</span> },
        { key: 'count', label: 'Count', value: (r) => r.count, render: (r) => num(r.count), numeric: true },
        { key: 'p50', label: 'p50', value: (r) => r.p50, render: (r) => ms(r.p50), numeric: true },
        { key: 'p95', label: 'p95', value: (r) => r.p95, render: (r) => ms(r.p95), numeric: true },
      ]}
    />
  );
}

function Sockets({ w }: { w: WebReport }) {
  const s = w.websocket;
  if (s.opens === 0 && s.closes === 0 && s.errors === 0)
    return (
      <Empty
        what="No browser WebSockets in this range. Wrap the WebSocket class with the SDK:"
        snippet={`import { wrapWebSocket } from '@alidade/sdk';\nconst ChatSocket = wrapWebSocket(WebSocket, { channel: 'chat' });`}
      />
    );
  return (
    <dl class="fe-kv">
      <dt>Opens</dt>
      <dd>{num(s.opens)}</dd>
      <dt>Closes</dt>
      <dd>{num(s.closes)}</dd>
      <dt>Abnormal closes</dt>
      <dd>{num(s.abnormalCloses)}</dd>
      <dt>Drops per 100 opens</dt>
      <dd class={s.dropRate !== null && s.dropRate >= 10 ? 'fe-val poor' : ''}>{num(s.dropRate, 1)}</dd>
      <dt>Reconnects</dt>
      <dd>{num(s.reconnects)}</dd>
      <dt>Errors</dt>
      <dd>{num(s.errors)}</dd>
    </dl>
  );
}
