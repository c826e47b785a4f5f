// A check's page (/performance/checks/{id}): its state, last run, the
// response time (or Lighthouse score) of its runs over time, its runs
// with their errors and Lighthouse reports; run now, edit and delete for
// an admin. Its form (/performance/checks/new, …/{id}?edit=1) posts the
// API's JSON and shows the API's 400 beside it.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, send } from '../api';
import { Chart } from '../chart';
import { ago, ms } from '../format';
import { navigate, View } from '../state';
import { Failure, Panel, Table, useData } from '../ui';
import { pollMs, usePoll } from './alerts-parts';
import { Check, CheckState, History, PerfLink, reportURL, Run, runSummary } from './performance-parts';
import { ActionError, Confirm, useAction, useCanChange, utc } from './settings-parts';

function Back({ id }: { id?: number }) {
  return (
    <p class="al-back">
      <PerfLink href={id ? '/performance/checks/' + id : '/performance'}>{id ? '← The check' : '← Performance'}</PerfLink>
    </p>
  );
}

export function CheckDetail({ view, id }: { view: View; id: number }) {
  const canChange = useCanChange();
  const [changed, setChanged] = useState(0);
  const [every, setEvery] = useState(15_000);
  const poll = usePoll(every, view.live);
  const check = useData(() => get<Check>('/api/v1/checks/' + id), [view.project, id, poll, changed]);
  const runs = useData(() => get<{ runs: Run[] }>(`/api/v1/checks/${id}/runs`, { limit: 200 }), [view.project, id, poll, changed]);
  const c = check.data && check.data.id === id ? check.data : null;
  useEffect(() => setEvery(pollMs(c ? [c.every] : [])), [c?.every]);
  const run = useAction();
  const del = useAction();
  if (!c)
    return (
      <>
        <Back />
        {check.error ? <Failure error={check.error} /> : <p class="loading">Loading…</p>}
      </>
    );
  const rs = runs.data?.runs ?? [];
  const last = c.lastRun;
  return (
    <>
      <Back />
      <section class="panel al-head" aria-labelledby="pf-title">
        <div class="al-head-main">
          <h2 id="pf-title" class="al-title" data-testid="pf-check-title">
            {c.name}
          </h2>
          <div class="al-sub">
            <span data-testid="pf-detail-state">
              <CheckState c={c} />
            </span>
            <span class="meta">
              {c.type}
              {c.type === 'http' ? ' ' + (c.method || 'GET') : ' · ' + (c.device || 'mobile')} <a href={c.url} target="_blank" rel="noopener noreferrer">{c.url}</a> · every {c.every} · timeout {c.timeout}
            </span>
          </div>
        </div>
        {canChange && (
          <div class="al-actions">
            <button
              type="button"
              class="st-primary"
              disabled={run.busy}
              data-testid="pf-run"
              onClick={async () => {
                const r = await run.run(() => send<{ run: Run }>('POST', `/api/v1/checks/${id}/run`));
                if (r.ok) setChanged((n) => n + 1);
              }}
            >
              {run.busy ? 'Running…' : 'Run now'}
            </button>
            <button type="button" onClick={() => navigate(null, { edit: 1 })} data-testid="pf-edit">
              Edit
            </button>
            <Confirm
              label="Delete"
              what={`the check “${c.name}”`}
              question={`Delete “${c.name}”? Its runs and reports go with it.`}
              yes="Delete"
              disabled={del.busy}
              testid="pf-delete"
              onYes={async () => {
                const r = await del.run(() => send('DELETE', '/api/v1/checks/' + id));
                if (r.ok) navigate('/performance', { edit: null });
              }}
            />
          </div>
        )}
      </section>
      <ActionError error={run.error} testid="pf-run-error" />
      <ActionError error={del.error} testid="pf-delete-error" />
      <Failure error={check.error} />
      {c.unavailable && (
        <p class="failure" role="note" data-testid="pf-unavailable">
          Unavailable: {c.unavailable}
        </p>
      )}
      <div class="stats" aria-label="The check's state">
        <Fact label="Last run" testid="pf-detail-last" title={last?.at}>
          <span class={last && !last.ok ? 'pf-err' : ''}>{runSummary(last)}</span>
        </Fact>
        {c.type === 'http' ? (
          <Fact label="Response time" testid="pf-detail-time">
            {last?.timings ? ms(last.timings.total) : '–'}
          </Fact>
        ) : (
          <Fact label="Lighthouse score" testid="pf-detail-score">
            {last?.score ?? '–'}
          </Fact>
        )}
        <Fact label="When" title={last?.at}>
          {last ? ago(last.at) : 'not yet'}
        </Fact>
        <Fact label="Failures in a row">{String(c.consecutiveFailures)}</Fact>
        <Fact label="Next run" title={c.nextRun}>
          {utc(c.nextRun)}
        </Fact>
        {last?.certExpiresInDays !== undefined && <Fact label="Certificate expires in">{Math.floor(last.certExpiresInDays) + ' days'}</Fact>}
      </div>
      <div class="grid">
        <Panel title={c.type === 'http' ? 'Response time' : 'Lighthouse score'} wide>
          <RunsChart c={c} runs={rs} />
        </Panel>
        <Panel title="Runs" wide>
          <Runs c={c} runs={rs} />
          {runs.error && <Failure error={runs.error} />}
        </Panel>
      </div>
    </>
  );
}

function Fact({ label, children, testid, title }: { label: string; children: preact.ComponentChildren; testid?: string; title?: string }) {
  return (
    <div class="stat" title={title}>
      <div class="label">{label}</div>
      <div class="value al-fact" data-testid={testid}>
        {children}
      </div>
    </div>
  );
}

function RunsChart({ c, runs }: { c: Check; runs: Run[] }) {
  const data = useMemo(() => {
    const rs = runs.filter((r) => !r.unavailable).reverse();
    const ts = rs.map((r) => Date.parse(r.at) / 1000);
    if (c.type === 'http')
      return {
        ts,
        lines: [
          { label: 'total', values: rs.map((r) => r.timings?.total ?? null), unit: (v: number | null) => ms(v), spanGaps: true },
          { label: 'first byte', values: rs.map((r) => r.timings?.ttfb ?? null), unit: (v: number | null) => ms(v), spanGaps: true },
        ],
      };
    return { ts, lines: [{ label: 'score', values: rs.map((r) => r.score ?? null), unit: (v: number | null) => (v === null ? '–' : v.toFixed(0)), spanGaps: true }] };
  }, [runs, c.type]);
  if (data.ts.length < 1) return <p class="meta">{c.state === 'unavailable' ? 'No run: this server cannot run it.' : 'No run yet.'}</p>;
  return <Chart title={c.type === 'http' ? "Total time and time to first byte of the check's runs" : "Lighthouse score of the check's runs"} times={data.ts} lines={data.lines} height={180} />;
}

function Runs({ c, runs }: { c: Check; runs: Run[] }) {
  if (!runs.length) return <p class="meta">No run yet.</p>;
  return (
    <>
      <p class="meta">
        Latest {runs.length} runs, oldest first: <History runs={runs.slice(0, 60)} />
      </p>
      <div data-testid="pf-runs">
        <Table
          rows={runs}
          label="Runs"
          initial="at"
          columns={[
            { key: 'at', label: 'At', value: (r) => r.at, render: (r) => <span title={r.at}>{utc(r.at)}</span> },
            {
              key: 'ok',
              label: 'Result',
              value: (r) => (r.ok ? 1 : 0),
              render: (r) => <span class={'badge ' + (r.unavailable ? 'pf-st-unavailable' : r.ok ? 'pf-st-up' : 'pf-st-down')}>{r.unavailable ? 'not run' : r.ok ? 'ok' : 'failed'}</span>,
            },
            c.type === 'http'
              ? { key: 'status', label: 'Status', value: (r) => r.status ?? null, render: (r) => (r.status ? String(r.status) : '–'), numeric: true }
              : { key: 'score', label: 'Score', value: (r) => r.score ?? null, render: (r) => (r.score === null || r.score === undefined ? '–' : String(r.score)), numeric: true },
            c.type === 'http'
              ? { key: 'time', label: 'Total', value: (r) => r.timings?.total ?? null, render: (r) => (r.timings ? ms(r.timings.total) : '–'), numeric: true }
              : { key: 'lcp', label: 'LCP', value: (r) => r.metrics?.lcp ?? null, render: (r) => (r.metrics ? ms(r.metrics.lcp) : '–'), numeric: true },
            { key: 'error', label: 'Error', value: (r) => r.error, render: (r) => <span class="pf-err al-msg">{r.error || ''}</span> },
            ...(c.type === 'page'
              ? [
                  {
                    key: 'report',
                    label: 'Report',
                    value: (r: Run) => (r.hasReport ? 1 : 0),
                    render: (r: Run) =>
                      r.hasReport ? (
                        <a href={reportURL(c.id, r.id)} target="_blank" rel="noopener" data-testid="pf-report">
                          Lighthouse report
                        </a>
                      ) : (
                        '–'
                      ),
                  },
                ]
              : []),
          ]}
        />
      </div>
    </>
  );
}

interface Draft {
  name: string;
  type: string;
  url: string;
  every: string;
  timeout: string;
  method: string;
  status: string;
  contains: string;
  maxMs: string;
  insecure: boolean;
  device: string;
}

const newDraft = (): Draft => ({ name: '', type: 'http', url: 'https://', every: '1m', timeout: '', method: 'GET', status: '', contains: '', maxMs: '', insecure: false, device: 'mobile' });

function draftOf(c: Check): Draft {
  return {
    name: c.name,
    type: c.type,
    url: c.url,
    every: c.every,
    timeout: c.timeout,
    method: c.method || 'GET',
    status: (c.expect?.status ?? []).join(', '),
    contains: c.expect?.contains ?? '',
    maxMs: c.expect?.maxMs ? String(c.expect.maxMs) : '',
    insecure: !!c.insecure,
    device: c.device || 'mobile',
  };
}

// bodyOf is the API's JSON for a draft; what the server checks (the
// statuses and numbers included) it checks, and says so in its 400.
function bodyOf(d: Draft): Record<string, unknown> {
  const b: Record<string, unknown> = { name: d.name.trim(), type: d.type, url: d.url.trim(), every: d.every.trim() };
  if (d.timeout.trim()) b.timeout = d.timeout.trim();
  if (d.type === 'http') {
    b.method = d.method;
    const expect: Record<string, unknown> = {};
    const st = d.status.split(/[\s,]+/).filter(Boolean);
    if (st.length) expect.status = st.map((s) => (/^\d+$/.test(s) ? Number(s) : s));
    if (d.contains) expect.contains = d.contains;
    if (d.maxMs.trim()) expect.maxMs = /^\d+(\.\d+)?$/.test(d.maxMs.trim()) ? Number(d.maxMs.trim()) : d.maxMs.trim();
    if (Object.keys(expect).length) b.expect = expect;
    if (d.insecure) b.insecure = true;
  } else b.device = d.device;
  return b;
}

export function CheckForm({ view, id }: { view: View; id: number }) {
  const canChange = useCanChange();
  const check = useData(() => (id ? get<Check>('/api/v1/checks/' + id) : Promise.resolve(null)), [view.project, id]);
  const [d, setD] = useState<Draft | null>(id ? null : newDraft());
  useEffect(() => {
    if (id && check.data && check.data.id === id && d === null) setD(draftOf(check.data));
  }, [check.data, id]);
  const act = useAction();
  if (!canChange)
    return (
      <>
        <Back id={id} />
        <p class="meta" data-testid="pf-read-note">
          This session was opened with a <strong>read</strong> key: it sees the checks. Creating, changing and running them is the admin’s — sign in with the project’s admin key.
        </p>
      </>
    );
  if (!d) return check.error ? <Failure error={check.error} /> : <p class="loading">Loading…</p>;
  const set = (k: keyof Draft) => (e: Event) => {
    const el = e.target as HTMLInputElement;
    setD({ ...d, [k]: el.type === 'checkbox' ? el.checked : el.value });
  };
  const body = bodyOf(d);
  return (
    <>
      <Back id={id} />
      <Panel title={id ? 'Edit the check' : 'New check'} wide>
        <form
          class="al-form"
          data-testid="pf-form"
          onSubmit={async (e) => {
            e.preventDefault();
            const r = await act.run(() => (id ? send<Check>('PUT', '/api/v1/checks/' + id, body) : send<Check>('POST', '/api/v1/checks', body)));
            if (r.ok) navigate('/performance/checks/' + r.value.id, { edit: null });
          }}
        >
          <fieldset>
            <legend>What</legend>
            <div class="al-row">
              <label>
                Name <input value={d.name} onInput={set('name')} required maxLength={100} data-testid="pf-f-name" />
              </label>
              <label>
                Type
                <select
                  value={d.type}
                  data-testid="pf-f-type"
                  onChange={(e) => {
                    const t = (e.target as HTMLSelectElement).value;
                    setD({ ...d, type: t, every: t === 'page' ? (d.every === '1m' ? '24h' : d.every) : d.every === '24h' ? '1m' : d.every });
                  }}
                >
                  <option value="http">http: one request (uptime)</option>
                  <option value="page">page: a Lighthouse run</option>
                </select>
              </label>
            </div>
            <div class="al-row">
              <label class="al-grow">
                URL <input type="url" value={d.url} onInput={set('url')} required data-testid="pf-f-url" />
              </label>
            </div>
            <div class="al-row">
              <label>
                Every <input class="al-dur" value={d.every} onInput={set('every')} data-testid="pf-f-every" placeholder={d.type === 'page' ? '24h' : '1m'} />
              </label>
              <label>
                Timeout <input class="al-dur" value={d.timeout} onInput={set('timeout')} data-testid="pf-f-timeout" placeholder={d.type === 'page' ? '3m' : '10s'} />
              </label>
              {d.type === 'page' && (
                <label>
                  Device
                  <select value={d.device} onChange={set('device')} data-testid="pf-f-device">
                    <option value="mobile">mobile</option>
                    <option value="desktop">desktop</option>
                  </select>
                </label>
              )}
            </div>
          </fieldset>
          {d.type === 'http' && (
            <fieldset>
              <legend>Request and expectations</legend>
              <div class="al-row">
                <label>
                  Method
                  <select value={d.method} onChange={set('method')} data-testid="pf-f-method">
                    {['GET', 'HEAD', 'POST', 'OPTIONS'].map((m) => (
                      <option value={m}>{m}</option>
                    ))}
                  </select>
                </label>
                <label>
                  Statuses <input class="al-num" value={d.status} onInput={set('status')} placeholder="any < 400" data-testid="pf-f-status" />
                </label>
                <label>
                  Body contains <input value={d.contains} onInput={set('contains')} data-testid="pf-f-contains" />
                </label>
                <label>
                  At most (ms) <input class="al-num" value={d.maxMs} onInput={set('maxMs')} data-testid="pf-f-maxms" />
                </label>
                <label class="pf-check">
                  <span>
                    <input type="checkbox" checked={d.insecure} onChange={set('insecure')} data-testid="pf-f-insecure" /> Accept any certificate
                  </span>
                </label>
              </div>
            </fieldset>
          )}
          <div class="st-form">
            <button type="submit" class="st-primary" disabled={act.busy} data-testid="pf-f-save">
              {id ? 'Save changes' : 'Create check'}
            </button>
            <PerfLink href={id ? '/performance/checks/' + id : '/performance'}>Cancel</PerfLink>
            <span class="meta">{id ? 'Saving runs the check at once and restarts its state; its runs stay.' : 'A new check runs at once.'}</span>
            <ActionError error={act.error} testid="pf-form-error" />
          </div>
          <details class="al-json">
            <summary>The JSON sent</summary>
            <pre class="code">{JSON.stringify(body, null, 2)}</pre>
          </details>
        </form>
      </Panel>
    </>
  );
}
