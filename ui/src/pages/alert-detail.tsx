// A rule's page (/alerts/{id}, where notifications link): its state and
// value, what it measures, its targets, a test-send with what each target
// answered, the values its history holds as a chart, and the history:
// transitions, notification attempts, query errors, changes of source.
import { useEffect, useMemo, useState } from 'preact/hooks';
import { get, send } from '../api';
import { Chart } from '../chart';
import { ago } from '../format';
import { navigate, View } from '../state';
import { Failure, Panel, useData } from '../ui';
import { AlertLink, condition, describe, Entry, pollMs, Rule, StateBadge, TestResult, usePoll, value } from './alerts-parts';
import { ActionError, Confirm, useAction, useCanChange, utc } from './settings-parts';

export function AlertDetail({ view, id }: { view: View; id: number }) {
  const canChange = useCanChange();
  const [ms, setMs] = useState(15_000);
  const [changed, setChanged] = useState(0);
  const poll = usePoll(ms, view.live);
  const rule = useData(() => get<Rule>('/api/v1/alerts/' + id), [view.project, id, poll, changed]);
  const history = useData(() => get<{ history: Entry[] }>(`/api/v1/alerts/${id}/history`), [view.project, id, poll, changed]);
  const r = rule.data && rule.data.id === id ? rule.data : null;
  useEffect(() => setMs(pollMs(r ? [r.every] : [])), [r?.every]);
  const test = useAction();
  const del = useAction();
  const [results, setResults] = useState<TestResult[] | null>(null);
  useEffect(() => setResults(null), [id]);

  if (!r) {
    return (
      <>
        <Back />
        {rule.error ? <Failure error={rule.error} /> : <p class="loading">Loading…</p>}
      </>
    );
  }
  const entries = history.data?.history ?? [];
  return (
    <>
      <Back />
      <section class="panel al-head" aria-labelledby="al-title">
        <div class="al-head-main">
          <h2 id="al-title" class="al-title" data-testid="al-title">
            {r.name}
          </h2>
          <div class="al-sub">
            <span data-testid="al-detail-state">
              <StateBadge state={r.state} />
            </span>
            <span class="meta" title={r.since}>
              since {utc(r.since)} ({ago(r.since)})
            </span>
          </div>
        </div>
        {canChange && (
          <div class="al-actions">
            <button type="button" onClick={() => navigate(null, { edit: 1 })} data-testid="al-edit">
              Edit
            </button>
            <button
              type="button"
              disabled={test.busy || r.notify.length === 0}
              title={r.notify.length ? 'Send each target a notification with "state": "test"' : 'The rule notifies nobody'}
              data-testid="al-test"
              onClick={async () => {
                setResults(null);
                const res = await test.run(() => send<{ results: TestResult[] }>('POST', `/api/v1/alerts/${id}/test`));
                if (res.ok) {
                  setResults(res.value.results);
                  setChanged((n) => n + 1);
                }
              }}
            >
              {test.busy ? 'Sending…' : 'Send test'}
            </button>
            <Confirm
              label="Delete"
              what={`the rule “${r.name}”`}
              question={`Delete “${r.name}”? Its state and history go with it.`}
              yes="Delete"
              disabled={del.busy}
              testid="al-delete"
              onYes={async () => {
                const res = await del.run(() => send('DELETE', '/api/v1/alerts/' + id));
                if (res.ok) navigate('/alerts', { edit: null });
              }}
            />
          </div>
        )}
      </section>
      <ActionError error={del.error} testid="al-delete-error" />
      <Failure error={rule.error} />
      {(test.error || results) && (
        <Panel title="Test notification" wide>
          <ActionError error={test.error} testid="al-test-error" />
          {results && <TestResults r={r} results={results} />}
        </Panel>
      )}
      <div class="stats" aria-label="The rule's state">
        <Fact label="Value" testid="al-detail-value">
          {value(r.value)}
        </Fact>
        <Fact label="Condition">
          <code>{condition(r.condition)}</code>
        </Fact>
        <Fact label="Last evaluation" title={r.lastEvaluation ?? ''}>
          {r.lastEvaluation ? ago(r.lastEvaluation) : 'not yet'}
        </Fact>
        <Fact label="Next evaluation" title={r.nextEvaluation}>
          {until(r.nextEvaluation)}
        </Fact>
        <Fact label="Source" title={r.sourceNote ?? ''}>
          {r.source ?? '–'}
        </Fact>
      </div>
      {r.error && (
        <p class="failure al-query-error" role="alert" data-testid="al-query-error">
          The query failed: {r.error}
        </p>
      )}
      {r.sourceNote && <p class="meta">Answered from raw points: {r.sourceNote}</p>}
      <div class="grid">
        <Panel title="Rule">
          <dl class="al-facts">
            <dt>Measures</dt>
            <dd>{describe(r.query)}</dd>
            <dt>Fires</dt>
            <dd>
              when the value is {condition(r.condition)} for {r.for}, checked every {r.every}
            </dd>
            <dt>No value</dt>
            <dd>{r.noData === 'firing' ? 'is a breach' : r.noData === 'keep' ? 'keeps the state' : 'is no breach'}</dd>
            {r.group && (
              <>
                <dt>Group</dt>
                <dd>
                  <code>{JSON.stringify(r.group)}</code>
                </dd>
              </>
            )}
            <dt>Timezone</dt>
            <dd>{r.timezone}</dd>
            <dt>Notifies</dt>
            <dd>
              {r.notify.length === 0 && 'nobody'}
              <ul class="al-targets" data-testid="al-targets">
                {r.notify.map((t) => (
                  <li>
                    <span class="badge">{t.type}</span> <code>{t.url}</code>
                  </li>
                ))}
              </ul>
              {r.pendingNotifications > 0 && <span class="meta">{r.pendingNotifications} notification(s) still being retried</span>}
            </dd>
            <dt>Changed</dt>
            <dd>{utc(r.updated)}</dd>
          </dl>
          <details class="al-json">
            <summary>Query (JSON)</summary>
            <pre class="code">{JSON.stringify(r.query, null, 2)}</pre>
          </details>
        </Panel>
        <ValuesChart entries={entries} r={r} />
      </div>
      <Panel title="History" wide>
        <Failure error={history.error} />
        <HistoryTable entries={entries} r={r} />
      </Panel>
    </>
  );
}

function Back() {
  return (
    <p class="al-back">
      <AlertLink href="/alerts">← All alert rules</AlertLink>
    </p>
  );
}

function Fact({ label, children, title, testid }: { label: string; children: preact.ComponentChildren; title?: string; testid?: string }) {
  return (
    <div class="stat">
      <div class="label">{label}</div>
      <div class="value al-fact" title={title} data-testid={testid}>
        {children}
      </div>
    </div>
  );
}

function TestResults({ r, results }: { r: Rule; results: TestResult[] }) {
  if (results.length === 0) return <p class="meta">The rule has no target.</p>;
  return (
    <div class="table-wrap">
      <table aria-label="What each target answered" data-testid="al-test-results">
        <thead>
          <tr>
            <th scope="col">Target</th>
            <th scope="col">Answer</th>
            <th scope="col" class="num">
              Status
            </th>
            <th scope="col">Message</th>
          </tr>
        </thead>
        <tbody>
          {results.map((x) => (
            <tr data-testid={'al-test-' + x.target}>
              <td>
                <span class="badge">{x.type}</span> <code>{r.notify[x.target]?.url ?? '#' + x.target}</code>
              </td>
              <td>
                <span class={'badge ' + (x.ok ? 'al-ok' : 'al-firing')}>{x.ok ? 'delivered' : 'failed'}</span>
              </td>
              <td class="num">{x.status || '–'}</td>
              <td class="al-msg">{x.message || ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// ValuesChart draws the values the history holds (transitions carry the
// evaluation's value) against the condition's threshold.
function ValuesChart({ entries, r }: { entries: Entry[]; r: Rule }) {
  const d = useMemo(() => {
    const pts = entries
      .filter((e) => e.value !== null && e.value !== undefined && e.kind === 'transition')
      .map((e) => ({ t: Date.parse(e.at) / 1000, v: e.value as number }))
      .sort((a, b) => a.t - b.t);
    if (r.value !== null && r.lastEvaluation) {
      const t = Date.parse(r.lastEvaluation) / 1000;
      if (!pts.length || t > pts[pts.length - 1].t) pts.push({ t, v: r.value });
    }
    if (pts.length < 2) return null;
    const times = pts.map((p) => p.t);
    return {
      times,
      lines: [
        { label: 'value', values: pts.map((p) => p.v), unit: (v: number | null) => value(v), color: '#4e79a7' },
        { label: 'threshold ' + condition(r.condition), values: times.map(() => r.condition.value), unit: (v: number | null) => value(v), color: '#e15759' },
      ],
    };
  }, [entries, r.value, r.lastEvaluation, r.condition.op, r.condition.value]);
  return (
    <Panel title="Values at transitions">
      {d ? (
        <Chart title={`${r.name}: values at its transitions`} times={d.times} lines={d.lines} height={200} />
      ) : (
        <p class="meta">The history holds fewer than two values yet: each transition keeps the value that made it.</p>
      )}
    </Panel>
  );
}

function HistoryTable({ entries, r }: { entries: Entry[]; r: Rule }) {
  if (entries.length === 0) return <p class="meta">Nothing yet: transitions, notifications and query errors will be listed here, newest first.</p>;
  return (
    <div class="table-wrap al-history">
      <table aria-label="History, newest first" data-testid="al-history">
        <thead>
          <tr>
            <th scope="col">When</th>
            <th scope="col">What</th>
            <th scope="col" class="num">
              Value
            </th>
            <th scope="col">Details</th>
          </tr>
        </thead>
        <tbody>
          {entries.map((e) => (
            <tr class={'al-h-' + e.kind} data-kind={e.kind}>
              <td title={e.at}>{utc(e.at).replace(' UTC', '')}</td>
              <td>
                <EntryWhat e={e} />
              </td>
              <td class="num">{e.value !== undefined && e.value !== null ? value(e.value) : ''}</td>
              <td class="al-msg">
                <EntryDetails e={e} r={r} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EntryWhat({ e }: { e: Entry }) {
  switch (e.kind) {
    case 'transition':
      return (
        <span>
          {e.from && <StateBadge state={e.from} />} → {e.to && <StateBadge state={e.to} />}
        </span>
      );
    case 'notification':
      return (
        <span>
          notification{e.to ? ' (' + e.to + ')' : ''}{' '}
          <span class={'badge ' + (e.ok ? 'al-ok' : e.final ? 'al-firing' : 'al-pending')}>{e.ok ? 'delivered' : e.final ? 'failed' : 'will retry'}</span>
        </span>
      );
    case 'error':
      return <span class="al-err">query error</span>;
    case 'recovered':
      return <span>query answers again</span>;
    case 'source':
      return <span>source changed</span>;
    case 'updated':
      return <span>rule changed</span>;
  }
  return <span>{e.kind}</span>;
}

function EntryDetails({ e, r }: { e: Entry; r: Rule }) {
  const parts: preact.ComponentChildren[] = [];
  if (e.kind === 'notification') {
    const t = e.target !== undefined ? r.notify[e.target] : undefined;
    parts.push(
      <span>
        {e.type ?? t?.type} {t ? <code>{t.url}</code> : e.target !== undefined ? '#' + e.target : ''}
        {e.attempt ? ` · attempt ${e.attempt}` : ''}
        {e.status ? ` · HTTP ${e.status}` : ''}
      </span>,
    );
  }
  if (e.source) parts.push(<span> from {e.source}</span>);
  if (e.group) parts.push(<code> {JSON.stringify(e.group)}</code>);
  if (e.message) parts.push(<div class="al-message">{e.message}</div>);
  return <>{parts}</>;
}

// until says how far ahead a time is ("in 20 s", "due" once it passed).
function until(iso: string): string {
  const s = (Date.parse(iso) - Date.now()) / 1000;
  if (!(s > 0.5)) return 'due';
  if (s < 90) return 'in ' + Math.round(s) + ' s';
  if (s < 5400) return 'in ' + Math.round(s / 60) + ' min';
  return 'in ' + Math.round(s / 3600) + ' h';
}
