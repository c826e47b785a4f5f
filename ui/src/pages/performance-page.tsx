// A page's performance (/performance/page?route=/lessons/:id): its vitals
// with their shares and change, the trend of a vital's field p75 (POST
// /api/v1/query over web_vitals by route) against the lab runs of the page
// checks whose URL folds to the page (points), its LCP elements and INP
// targets, the API calls it waits on, and the recommendations with the
// numbers behind them.
import { useMemo } from 'preact/hooks';
import { get, send } from '../api';
import { Chart, Line } from '../chart';
import { ms, num } from '../format';
import { View } from '../state';
import { Failure, Panel, Table, useData } from '../ui';
import { buckets, intervalOf, queryRange, QueryAnswer, Share, Tabs, vitalValue } from './frontend-parts';
import { Arrow, Check, Evidence, foldPath, LAB_OF, loadInsights, Metric, metricName, METRICS, PerfLink, PerfPage, RATING_TEXT, RatedBar, ratingClass, reportURL, Run, THRESHOLDS, useChecks } from './performance-parts';

function Back() {
  return (
    <p class="al-back">
      <PerfLink href="/performance">← Performance</PerfLink>
    </p>
  );
}

export function PageDetail({ view }: { view: View }) {
  const route = view.params.get('route') ?? '';
  const { data, error } = useData(() => loadInsights(view), [view.range, view.from, view.to, view.project]);
  const page = data?.pages.find((p) => p.page === route) ?? null;
  if (!data)
    return (
      <>
        <Back />
        {error ? <Failure error={error} /> : <p class="loading">Loading…</p>}
      </>
    );
  if (!page)
    return (
      <>
        <Back />
        <p class="meta" data-testid="pf-no-page">
          No Web Vitals on <code>{route || '(no page)'}</code> in this range (among the {data.pages.length} pages with the most impact).
        </p>
      </>
    );
  return (
    <>
      <Back />
      <section class="panel al-head" aria-labelledby="pf-title">
        <div class="al-head-main">
          <h2 id="pf-title" class="al-title" data-testid="pf-page-title">
            {page.page}
          </h2>
          <div class="al-sub meta">
            {num(page.views)} views · {num(page.errors)} client errors{page.errorRate !== null ? ` (${num(page.errorRate * 100, 1)} per 100 views)` : ''} · impact {num(page.impact, 1)}
            {page.lab && (
              <>
                {' '}
                · latest lab run: <strong>{page.lab.check}</strong>, score {page.lab.score}
              </>
            )}
          </div>
        </div>
      </section>
      <Failure error={error} />
      <ul class="fe-vitals pf-cards" aria-label={'Web Vitals of ' + page.page}>
        {METRICS.map((m) => {
          const v = page.vitals[m];
          const r = ratingClass(v?.rating);
          return (
            <li class={'fe-vital pf-card ' + r} data-testid={'pf-vital-' + m} data-rating={v?.rating ?? ''}>
              <div class="fe-vital-head">
                <abbr title={metricName(m)}>{m}</abbr>
                <span class="meta">{v ? num(v.samples) + ' samples' : 'no sample'}</span>
              </div>
              <div class={'pf-big pf-' + r}>
                {vitalValue(m, v?.p75)}
                {v && <span class="sr-only"> ({RATING_TEXT[v.rating]})</span>} {v && <Arrow change={v.change} />}
              </div>
              {v && <RatedBar v={v} />}
              <div class="meta">
                good ≤ {vitalValue(m, THRESHOLDS[m][0])}, poor &gt; {vitalValue(m, THRESHOLDS[m][1])}
              </div>
            </li>
          );
        })}
      </ul>
      <div class="grid">
        <Panel title="Trend: field p75 against lab runs" wide>
          <Tabs tabs={METRICS.map((m) => ({ key: m, label: m }))} label="Trend of" param="vital" view={view}>
            {(k) => <Trend key={k} view={view} route={page.page} metric={k as Metric} />}
          </Tabs>
        </Panel>
        <Panel title="Recommendations" wide>
          <Recommendations page={page} />
        </Panel>
        <Panel title="LCP elements">
          <Elements rows={page.lcpElements} label="LCP elements" testid="pf-lcp-elements" />
        </Panel>
        <Panel title="INP targets">
          <Elements rows={page.inpTargets} label="INP targets" testid="pf-inp-targets" p75 />
        </Panel>
        <Panel title="Slowest API calls from this page" wide>
          {page.slowestApiCalls.length === 0 ? (
            <p class="meta">No API call timed by browsers on this page in this range (the SDK's instrumentFetch() times them).</p>
          ) : (
            <Table
              rows={page.slowestApiCalls}
              label="Slowest API calls"
              initial="p75"
              columns={[
                { key: 'endpoint', label: 'Endpoint', value: (r) => r.endpoint, render: (r) => <span class="fe-path" title={r.endpoint}>{r.endpoint}</span> },
                { key: 'p75', label: 'p75', value: (r) => r.p75, render: (r) => ms(r.p75), numeric: true },
                { key: 'calls', label: 'Calls', value: (r) => r.calls, render: (r) => num(r.calls), numeric: true },
              ]}
            />
          )}
        </Panel>
      </div>
    </>
  );
}

function Elements({ rows, label, testid, p75 }: { rows: PerfPage['lcpElements']; label: string; testid: string; p75?: boolean }) {
  if (!rows.length) return <p class="meta">No element named in this range.</p>;
  return (
    <div data-testid={testid}>
      <Table
        rows={rows}
        label={label}
        initial="share"
        columns={[
          { key: 'element', label: 'Element', value: (r) => r.element, render: (r) => <code class="fe-path" title={r.element}>{r.element || '(none)'}</code> },
          { key: 'share', label: 'Share', value: (r) => r.share, render: (r) => <Share part={r.share} whole={1} /> },
          ...(p75 ? [{ key: 'p75', label: 'p75', value: (r: PerfPage['lcpElements'][0]) => r.p75 ?? null, render: (r: PerfPage['lcpElements'][0]) => ms(r.p75), numeric: true }] : []),
          { key: 'samples', label: 'Samples', value: (r) => r.samples, render: (r) => num(r.samples), numeric: true },
        ]}
      />
    </div>
  );
}

// The evidence's figures, as label: value (shares and changes in %).
function evidenceItems(e: Evidence): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(e)) {
    if (k === 'kind' || v === null || v === undefined || v === '') continue;
    let s = typeof v === 'number' ? String(parseFloat(v.toPrecision(4))) : String(v);
    if (typeof v === 'number' && (k === 'change' || k === 'elementShare' || k === 'errorRate')) s = (v * 100).toFixed(1) + '%';
    out.push([k, s]);
  }
  return out;
}

function Recommendations({ page }: { page: PerfPage }) {
  if (!page.recommendations.length) return <p class="meta">None: every p75 is good, without many errors or slow API calls.</p>;
  return (
    <ol class="pf-recs" data-testid="pf-recs">
      {page.recommendations.map((r) => (
        <li data-kind={r.evidence.kind}>
          <p>{r.text}</p>
          <details>
            <summary>Evidence ({r.evidence.kind})</summary>
            <dl class="al-facts">
              {evidenceItems(r.evidence).map(([k, v]) => (
                <>
                  <dt>{k}</dt>
                  <dd>{v}</dd>
                </>
              ))}
            </dl>
          </details>
        </li>
      ))}
    </ol>
  );
}

// Trend: the field p75 of one vital per bucket, and the lab runs of the
// page's checks as points on the same time axis.
function Trend({ view, route, metric }: { view: View; route: string; metric: Metric }) {
  const interval = intervalOf(view);
  const field = useData(
    () =>
      send<QueryAnswer<{ t: string; p75: number | null; n: number }>>('POST', '/api/v1/query', {
        dataset: 'web_vitals',
        range: queryRange(view),
        interval,
        filter: [
          { field: 'route', op: '=', value: route },
          { field: 'name', op: '=', value: metric },
        ],
        limit: 10000,
        aggregations: { p75: { type: 'quantile', field: 'value', q: 0.75 }, n: { type: 'count' } },
      }),
    [view.range, view.from, view.to, view.project, route, metric],
  );
  const { checks } = useChecks(view);
  const labChecks = (checks ?? []).filter((c) => c.type === 'page' && foldPath(c.url) === route);
  const lab = useData(
    async () => {
      const out: { c: Check; runs: Run[] }[] = [];
      await Promise.all(labChecks.map((c) => get<{ runs: Run[] }>(`/api/v1/checks/${c.id}/runs`, { limit: 200 }).then((r) => out.push({ c, runs: r.runs }), () => {})));
      return out;
    },
    [labChecks.map((c) => c.id + ':' + (c.lastRun?.id ?? 0)).join(',')],
  );
  const chart = useMemo(() => {
    const a = field.data;
    if (!a) return null;
    const from = Date.parse(a.meta.from) / 1000, to = Date.parse(a.meta.to) / 1000;
    const bs = buckets(a.meta.from, a.meta.to, interval);
    const fieldAt = new Map(a.rows.map((r) => [Date.parse(r.t) / 1000, r.p75]));
    const key = LAB_OF[metric];
    const points: { t: number; name: string; v: number }[] = [];
    if (key)
      for (const { c, runs } of lab.data ?? [])
        for (const r of runs) {
          const t = Date.parse(r.at) / 1000;
          if (r.ok && r.metrics && t >= from && t < to) points.push({ t, name: c.name, v: r.metrics[key] });
        }
    const ts = [...new Set([...bs, ...points.map((p) => p.t)])].sort((x, y) => x - y);
    const unit = (v: number | null) => vitalValue(metric, v);
    const lines: Line[] = [{ label: 'field p75', values: ts.map((t) => fieldAt.get(t) ?? null), unit, spanGaps: true, color: '#4e79a7' }];
    const names = [...new Set(points.map((p) => p.name))];
    names.forEach((n, i) => {
      const at = new Map(points.filter((p) => p.name === n).map((p) => [p.t, p.v]));
      lines.push({ label: 'lab: ' + n, values: ts.map((t) => at.get(t) ?? null), unit, points: true, color: ['#f28e2b', '#b07aa1', '#59a14f'][i % 3] });
    });
    return { ts, lines, samples: a.rows.reduce((s, r) => s + (r.n ?? 0), 0), points: points.length };
  }, [field.data, lab.data, metric, interval]);
  if (!chart) return field.error ? <Failure error={field.error} /> : <p class="loading">Loading…</p>;
  const latest = (lab.data ?? []).flatMap(({ c, runs }) => runs.filter((r) => r.hasReport).slice(0, 1).map((r) => ({ c, r })));
  return (
    <div data-testid="pf-trend">
      <Chart title={`${metric} p75 on ${route} (field) and the lab runs`} times={chart.ts} lines={chart.lines} height={200} />
      <p class="meta">
        {num(chart.samples)} {metric} samples in this range; {labChecks.length === 0 ? 'no page check tests this page (a page check whose URL folds to it puts its lab runs here)' : `${chart.points} lab run${chart.points === 1 ? '' : 's'} of ${labChecks.map((c) => c.name).join(', ')}`}
        {!LAB_OF[metric] && labChecks.length > 0 ? ' (a lab run has no interaction: no INP)' : ''}.
        {latest.map(({ c, r }) => (
          <>
            {' '}
            <a href={reportURL(c.id, r.id)} target="_blank" rel="noopener">
              Lighthouse report of {c.name}
            </a>
          </>
        ))}
      </p>
    </div>
  );
}
