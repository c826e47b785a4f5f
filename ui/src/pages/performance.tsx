// Performance: the per-page report from real users (GET /api/v1/insights)
// — vitals coloured by rating, views, error rate, change, ordered by
// impact — and the checks (GET /api/v1/checks) with their state, last
// run, history and response time. /performance/page?route=… is a page's
// detail (performance-page.tsx); /performance/checks/{id} a check's page
// and /performance/checks/new, /performance/checks/{id}?edit=1 its form
// (performance-checks.tsx). Changing checks is the admin's.
import { useMemo } from 'preact/hooks';
import { ApiError, get, send } from '../api';
import { Chart, Spark } from '../chart';
import { ago, ms, num } from '../format';
import { View } from '../state';
import { Column, Empty, Failure, Panel, Table, useData } from '../ui';
import { buckets, intervalOf, queryRange, QueryAnswer } from './frontend-parts';
import { CheckDetail, CheckForm } from './performance-checks';
import { PageDetail } from './performance-page';
import { Check, CheckState, History, useChecks, loadInsights, METRICS, PerfLink, PerfPage, Run, runSummary, VitalCell } from './performance-parts';
import { useCanChange } from './settings-parts';
import './performance.css';

export function Performance({ view }: { view: View }) {
  const p = view.path.replace(/\/$/, '');
  if (p === '/performance/page') return <PageDetail view={view} />;
  if (p === '/performance/checks/new') return <CheckForm view={view} id={0} />;
  const m = /^\/performance\/checks\/(\d+)$/.exec(p);
  if (m) return view.params.get('edit') ? <CheckForm view={view} id={Number(m[1])} /> : <CheckDetail view={view} id={Number(m[1])} />;
  if (p !== '/performance')
    return (
      <p class="failure" role="alert">
        No such page: {view.path}. <PerfLink href="/performance">Performance</PerfLink>
      </p>
    );
  return (
    <>
      <Pages view={view} />
      <Checks view={view} />
    </>
  );
}

const vitalsExample = () => `curl -X POST ${location.origin}/api/v1/events -H 'Content-Type: text/plain' -d '{"key":"ald_public_…","events":[
  {"type":"pageview","url":"https://app.example.com/lessons/7"},
  {"type":"vital","name":"LCP","value":3100,"rating":"needs-improvement","url":"https://app.example.com/lessons/7","attribution":"img.hero"},
  {"type":"vital","name":"INP","value":120,"rating":"good","url":"https://app.example.com/lessons/7","attribution":"button.send"}]}'`;

function Pages({ view }: { view: View }) {
  const { data, error } = useData(() => loadInsights(view), [view.range, view.from, view.to, view.project]);
  const columns = useMemo<Column<PerfPage>[]>(
    () => [
      {
        key: 'page',
        label: 'Page',
        value: (r) => r.page,
        render: (r) => (
          <PerfLink href="/performance/page" set={{ route: r.page }} cls="pf-page" testid="pf-page" title={'The report of ' + r.page}>
            {r.page}
          </PerfLink>
        ),
      },
      { key: 'views', label: 'Views', value: (r) => r.views, render: (r) => num(r.views), numeric: true },
      ...METRICS.map<Column<PerfPage>>((m) => ({ key: m, label: m + ' p75', value: (r) => r.vitals[m]?.p75 ?? null, render: (r) => <VitalCell metric={m} v={r.vitals[m]} />, numeric: true })),
      {
        key: 'errorRate',
        label: 'Errors / 100 views',
        value: (r) => r.errorRate,
        render: (r) => <span class={r.errorRate !== null && r.errorRate >= 0.01 && r.errors >= 5 ? 'fe-val poor' : ''}>{r.errorRate === null ? '–' : num(r.errorRate * 100, 1)}</span>,
        numeric: true,
      },
      { key: 'impact', label: 'Impact', value: (r) => r.impact, render: (r) => <span title={`views × excess (${r.excess.toFixed(2)})`}>{num(r.impact, 1)}</span>, numeric: true },
      { key: 'recs', label: 'Findings', value: (r) => r.recommendations.length, render: (r) => (r.recommendations.length ? String(r.recommendations.length) : '–'), numeric: true },
    ],
    [],
  );
  if (!data) return error ? <Failure error={error} /> : <p class="loading">Loading…</p>;
  return (
    <Panel title="Pages, by impact" wide>
      <Failure error={error} />
      {data.pages.length === 0 ? (
        <Empty what="No Web Vitals from browsers in this range. The browser SDK sends them by itself; by hand, through the beacon (the project's public key):" snippet={vitalsExample()} />
      ) : (
        <div data-testid="pf-pages">
          <Table rows={data.pages} columns={columns} initial="impact" label="Pages by impact" />
        </div>
      )}
      <p class="meta">
        Field p75 from real users, coloured by Google's thresholds; ▲ is worse than the period before. Impact is {data.meta.impact}. Answered in {data.meta.elapsedMs.toFixed(0)} ms from {data.meta.source}.
      </p>
      {data.meta.warnings?.map((w) => (
        <p class="meta" role="note">
          {w}
        </p>
      ))}
    </Panel>
  );
}

const checkExample = () => `curl -X POST ${location.origin}/api/v1/checks -H "Authorization: Bearer $ALIDADE_ADMIN_KEY" -d '{
  "name": "api health", "type": "http", "url": "https://api.example.com/healthz", "every": "1m",
  "timeout": "10s", "expect": {"status": [200], "contains": "ok", "maxMs": 2000}}'`;

function Checks({ view }: { view: View }) {
  const canChange = useCanChange();
  const { list, checks, poll } = useChecks(view);
  const ids = checks?.map((c) => c.id).join(',') ?? '';
  const runs = useData(async () => {
    const out: Record<number, Run[]> = {};
    await Promise.all(
      (checks ?? []).slice(0, 50).map((c) =>
        get<{ runs: Run[] }>(`/api/v1/checks/${c.id}/runs`, { limit: 30 }).then(
          (r) => (out[c.id] = r.runs),
          () => (out[c.id] = []),
        ),
      ),
    );
    return out;
  }, [ids, poll, checks?.map((c) => c.lastRun?.id ?? 0).join(',')]);
  const notAvailable = list.error instanceof ApiError && list.error.status === 501;
  const down = checks?.filter((c) => c.state === 'down').length ?? 0;
  const unavailable = checks?.filter((c) => c.state === 'unavailable').length ?? 0;
  const columns: Column<Check>[] = [
    {
      key: 'name',
      label: 'Check',
      value: (c) => c.name.toLowerCase(),
      render: (c) => (
        <div class="pf-name-cell">
          <PerfLink href={'/performance/checks/' + c.id} cls="pf-name" testid={'pf-check-' + c.id}>
            {c.name}
          </PerfLink>
          <div class="pf-what" title={c.url}>
            {c.type} · {c.url} · every {c.every}
          </div>
        </div>
      ),
    },
    {
      key: 'state',
      label: 'State',
      value: (c) => ['up', 'pending', 'unavailable', 'down'].indexOf(c.state),
      render: (c) => (
        <span data-testid={'pf-state-' + c.id}>
          <CheckState c={c} />
          {c.unavailable && (
            <div class="pf-why" data-testid={'pf-why-' + c.id}>
              {c.unavailable}
            </div>
          )}
        </span>
      ),
    },
    {
      key: 'last',
      label: 'Last run',
      value: (c) => c.lastRun?.at ?? '',
      render: (c) => (
        <div class="pf-last" data-testid={'pf-last-' + c.id}>
          <span class={c.lastRun && !c.lastRun.ok ? 'pf-err' : ''}>{runSummary(c.lastRun)}</span>
          <div class="meta" title={c.lastRun?.at}>
            {c.lastRun ? ago(c.lastRun.at) : ''}
          </div>
        </div>
      ),
    },
    { key: 'history', label: 'History', value: (c) => c.consecutiveFailures, render: (c) => <History runs={runs.data?.[c.id] ?? []} /> },
    {
      key: 'time',
      label: 'Trend',
      value: (c) => c.lastRun?.timings?.total ?? c.lastRun?.score ?? null,
      render: (c) => {
        const rs = [...(runs.data?.[c.id] ?? [])].reverse().filter((r) => !r.unavailable);
        return c.type === 'http' ? (
          <span class="pf-spark" title="total time of the latest runs">
            <Spark values={rs.map((r) => r.timings?.total ?? null)} />
          </span>
        ) : (
          <span class="pf-spark" title="Lighthouse score of the latest runs">
            <Spark values={rs.map((r) => r.score ?? null)} />
          </span>
        );
      },
    },
  ];
  return (
    <>
      <div class="al-bar pf-bar">
        <p class="meta" aria-live="polite" data-testid="pf-summary">
          {checks ? `${checks.length} check${checks.length === 1 ? '' : 's'}` : 'Checks'}
          {down ? ` · ${down} down` : ''}
          {unavailable ? ` · ${unavailable} unavailable` : ''}. Http checks test uptime; page checks run Lighthouse.
        </p>
        {canChange && (
          <PerfLink href="/performance/checks/new" cls="al-new st-primary" testid="pf-new">
            New check
          </PerfLink>
        )}
      </div>
      {list.error && !checks && (notAvailable ? <p class="meta">This server keeps no checks (its store has none).</p> : <Failure error={list.error} />)}
      {checks && checks.length === 0 && (
        <Panel title="Checks" wide>
          <Empty
            what={canChange ? 'No check yet. Create one with New check, or with the API:' : 'No check yet. An admin session (or admin key) creates them, e.g.:'}
            snippet={checkExample()}
          />
        </Panel>
      )}
      {checks && checks.length > 0 && (
        <div class="grid">
          <Panel title="Checks" wide>
            <div data-testid="pf-checks">
              <Table rows={checks} columns={columns} initial="state" label="Checks" />
            </div>
            {list.error && <Failure error={list.error} />}
          </Panel>
          {checks.some((c) => c.type === 'http') && (
            <Panel title="Response time (http checks)" wide>
              <ResponseTimes view={view} poll={poll} />
            </Panel>
          )}
        </div>
      )}
    </>
  );
}

// ResponseTimes charts every http check's mean total time over the range,
// from the checks dataset (one query).
function ResponseTimes({ view, poll }: { view: View; poll: number }) {
  const interval = intervalOf(view);
  const q = useData(
    () =>
      send<QueryAnswer<{ t: string; check: string; duration: number | null }>>('POST', '/api/v1/query', {
        dataset: 'checks',
        range: queryRange(view),
        interval,
        filter: [{ field: 'type', op: '=', value: 'http' }],
        groupBy: ['check'],
        limit: 10000,
        aggregations: { duration: { type: 'avg', field: 'duration' } },
      }),
    [view.range, view.from, view.to, view.project, poll],
  );
  const c = useMemo(() => {
    const a = q.data;
    if (!a) return null;
    const ts = buckets(a.meta.from, a.meta.to, interval);
    const names = [...new Set(a.rows.map((r) => r.check))].sort().slice(0, 8);
    const lines = names.map((n) => {
      const at = new Map(a.rows.filter((r) => r.check === n).map((r) => [Date.parse(r.t) / 1000, r.duration]));
      return { label: n, values: ts.map((t) => at.get(t) ?? null), unit: (v: number | null) => ms(v) };
    });
    return { ts, lines };
  }, [q.data, interval]);
  if (!c) return q.error ? <Failure error={q.error} /> : <p class="loading">Loading…</p>;
  if (!c.lines.length) return <p class="meta">No http run in this range.</p>;
  return <Chart title="Mean total time of the http checks' runs" times={c.ts} lines={c.lines} height={180} />;
}
