// An error group's page (/errors/{id}): what it is, its status (admin
// sessions change it), its regressions, its events over the range (the
// errors dataset by group_id), its latest events, and one event in full:
// the latest (GET /api/v1/error-groups/{id} carries it) or the one chosen
// (?event=…, GET /api/v1/events/{id}).
import { useMemo, useState } from 'preact/hooks';
import { get, send } from '../api';
import { Chart } from '../chart';
import { ago, num } from '../format';
import { navigate, View } from '../state';
import { Failure, Panel, Stat, useData } from '../ui';
import { Badges, cap, changeStatus, Group, STATUSES, useCanChange } from './errors-parts';
import { EventDetail, EventView } from './errors-event';
import { buckets, fill, intervalOf, QueryAnswer, queryRange } from './frontend-parts';

export interface GroupDetail extends Group {
  type: string;
  platform: string;
  grouping: string;
  releases: string[];
  environments: string[];
  firstRelease: string;
  lastRelease: string;
  resolvedAt: string | null;
  resolvedRelease: string;
  regressedAt: string | null;
  regressedRelease: string;
  regressions: number;
  statusChanged: string | null;
  latestEventId: string;
  latestEvent: EventView | null;
}

interface EventSummary {
  id: string;
  timestamp: string;
  received: string;
  level: string;
  title: string;
  release: string;
  environment: string;
  user: string;
  size: number;
}

interface TimelineRow {
  t: string;
  events: number;
  regressed: number;
  users: number;
}

const PAGE = 50;

export function ErrorGroupPage({ view, id }: { view: View; id: number }) {
  const [reload, setReload] = useState(0);
  const deps = [view.range, view.from, view.to, view.project, id];
  const before = view.params.get('before') ?? '';
  const eventId = view.params.get('event') ?? '';
  const group = useData(() => get<GroupDetail>('/api/v1/error-groups/' + id), [...deps, reload]);
  const events = useData(() => get<{ events: EventSummary[] }>('/api/v1/error-groups/' + id + '/events', { limit: PAGE, before }), [...deps, before, reload]);
  const timeline = useData(
    () =>
      send<QueryAnswer<TimelineRow>>('POST', '/api/v1/query', {
        dataset: 'errors',
        range: queryRange(view),
        interval: intervalOf(view),
        limit: 10000,
        filter: [{ field: 'group_id', op: '=', value: id }],
        aggregations: { events: { type: 'count' }, regressed: { type: 'sum', field: 'regressed' }, users: { type: 'uniq', field: 'user' } },
      }),
    deps,
  );
  // A chosen event other than the latest is read on its own.
  const g = group.data && group.data.id === id ? group.data : null;
  const wantOther = !!eventId && !!g && eventId !== g.latestEventId;
  const chosen = useData(() => (wantOther ? get<EventView>('/api/v1/events/' + encodeURIComponent(eventId)) : Promise.resolve(null)), [eventId, wantOther]);

  const chart = useMemo(() => {
    const c = timeline.data;
    if (!c) return null;
    const ts = buckets(c.meta.from, c.meta.to, intervalOf(view));
    const ev = fill(ts, c.rows, (r) => r.events);
    const rg = fill(ts, c.rows, (r) => r.regressed);
    const total = ev.reduce((a, b) => a + b, 0);
    const lines = [{ label: 'events', values: ev as (number | null)[], unit: (v: number | null) => num(v), color: '#e15759' }];
    if (rg.some((v) => v > 0)) lines.push({ label: 'regressed', values: rg, unit: (v: number | null) => num(v), color: '#f28e2b' });
    return { ts, lines, total };
  }, [timeline.data]);

  if (!g) {
    if (group.error)
      return (
        <>
          <BackLink />
          <Failure error={group.error} />
        </>
      );
    return <p class="loading">Loading…</p>;
  }
  const ev = wantOther ? chosen.data : g.latestEvent;
  const list = events.data?.events ?? [];
  return (
    <>
      <BackLink />
      <Failure error={group.error} />
      <section class="panel er-head" aria-labelledby="er-group-title">
        <div class="er-head-main">
          <h2 id="er-group-title" class="er-group-title">
            {g.title || '<no title>'}
          </h2>
          <div class="er-sub">
            <Badges g={g} />
            {g.platform && <span class="badge">{g.platform}</span>}
            <span class="er-culprit" title={g.culprit}>
              {g.culprit || '–'}
            </span>
          </div>
        </div>
        <StatusControl g={g} onChanged={() => setReload((n) => n + 1)} />
      </section>
      <Regression g={g} />
      <div class="stats" aria-label="The group's figures">
        <Stat label="Events" value={num(g.count)} cur={g.count} testid="group-count" />
        <Stat label="Users affected" value={num(g.users)} cur={g.users} testid="group-users" />
        <Stat label="In range" value={chart ? num(chart.total) : '–'} cur={chart?.total} testid="group-in-range" />
        <div class="stat">
          <div class="label">First seen</div>
          <div class="value er-when" title={g.firstSeen}>
            {ago(g.firstSeen)}
          </div>
          <div class="delta">{g.firstRelease ? 'in ' + g.firstRelease : '\u00a0'}</div>
        </div>
        <div class="stat">
          <div class="label">Last seen</div>
          <div class="value er-when" title={g.lastSeen}>
            {ago(g.lastSeen)}
          </div>
          <div class="delta">{g.lastRelease ? 'in ' + g.lastRelease : '\u00a0'}</div>
        </div>
      </div>
      <Panel title="Events over the range" wide>
        <Failure error={timeline.error} />
        {chart ? (
          chart.total > 0 ? (
            <Chart title="The group's events over the range" times={chart.ts} lines={chart.lines} height={180} />
          ) : (
            <p class="meta">No events of this group in this range; it was last seen {ago(g.lastSeen)}.</p>
          )
        ) : (
          !timeline.error && <p class="loading">Loading…</p>
        )}
      </Panel>
      <div class="er-cols er-cols-main">
        <Panel title="Latest events">
          <Failure error={events.error} />
          <EventList list={list} current={ev?.id ?? g.latestEventId} latest={g.latestEventId} />
          <div class="er-pager">
            {before && (
              <button type="button" onClick={() => navigate(null, { before: null })}>
                ← Newest
              </button>
            )}
            {list.length === PAGE && (
              <button type="button" onClick={() => navigate(null, { before: list[list.length - 1].received })}>
                Older →
              </button>
            )}
          </div>
        </Panel>
        <Panel title="Seen in">
          <About g={g} />
        </Panel>
      </div>
      <Failure error={wantOther ? chosen.error : null} />
      {ev ? (
        <EventDetail ev={ev} latest={ev.id === g.latestEventId} />
      ) : wantOther && !chosen.error ? (
        <p class="loading">Loading the event…</p>
      ) : (
        !wantOther && <p class="meta">The group's latest event is no longer stored (retention).</p>
      )}
    </>
  );
}

function BackLink() {
  const q = new URLSearchParams(location.search);
  q.delete('event');
  q.delete('before');
  const s = q.toString();
  const href = '/errors' + (s ? '?' + s : '');
  return (
    <p class="er-back">
      <a
        href={href}
        onClick={(e) => {
          if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
          e.preventDefault();
          navigate('/errors', { event: null, before: null });
        }}
      >
        ← All error groups
      </a>
    </p>
  );
}

// StatusControl is three buttons, the current one pressed, for admin
// sessions; read sessions see the status only.
function StatusControl({ g, onChanged }: { g: GroupDetail; onChanged: () => void }) {
  const can = useCanChange();
  const [busy, setBusy] = useState('');
  const [err, setErr] = useState<Error | null>(null);
  if (!can)
    return (
      <div class="er-status" data-testid="status-readonly">
        <span class="meta">Status</span> <strong>{cap(g.status)}</strong>
        <div class="meta">Read-only session: status changes need an admin key.</div>
      </div>
    );
  const to = async (s: string) => {
    if (s === g.status) return;
    setBusy(s);
    setErr(null);
    try {
      await changeStatus([g.id], s);
    } catch (e) {
      setErr(e as Error);
    }
    setBusy('');
    onChanged();
  };
  return (
    <div class="er-status">
      <div class="er-status-buttons" role="group" aria-label="Status">
        {STATUSES.map((s) => (
          <button type="button" aria-pressed={g.status === s} disabled={!!busy} onClick={() => to(s)} data-testid={'set-' + s}>
            {busy === s ? '…' : s === 'unresolved' ? 'Unresolved' : s === 'resolved' ? 'Resolve' : 'Ignore'}
          </button>
        ))}
      </div>
      {g.statusChanged && <div class="meta">changed {ago(g.statusChanged)}</div>}
      <Failure error={err} />
    </div>
  );
}

// Regression says when a resolved group came back, and what resolving
// means while it is resolved.
function Regression({ g }: { g: GroupDetail }) {
  if (g.regressed && g.status === 'unresolved')
    return (
      <div class="er-banner er-banner-bad" role="status" data-testid="regression">
        <strong>Regression.</strong> Resolved{g.resolvedRelease ? ' in ' : ''}
        {g.resolvedRelease && <code>{g.resolvedRelease}</code>}
        {g.resolvedAt ? ' ' + ago(g.resolvedAt) : ''}, it came back
        {g.regressedRelease ? ' in release ' : ''}
        {g.regressedRelease && <code>{g.regressedRelease}</code>} {g.regressedAt ? ago(g.regressedAt) : ''} and was reopened
        {g.regressions > 1 ? ` (${g.regressions} regressions so far)` : ''}.
      </div>
    );
  if (g.status === 'resolved')
    return (
      <div class="er-banner er-banner-good" role="status">
        Resolved {g.resolvedAt ? ago(g.resolvedAt) : ''}
        {g.resolvedRelease ? (
          <>
            {' '}
            in <code>{g.resolvedRelease}</code>. An event from a newer release reopens it as a regression
          </>
        ) : (
          '. Its next event reopens it as a regression'
        )}
        {g.regressions > 0 ? ` (it regressed ${g.regressions} time${g.regressions > 1 ? 's' : ''} before)` : ''}.
      </div>
    );
  if (g.status === 'ignored')
    return (
      <div class="er-banner" role="status">
        Ignored {g.statusChanged ? ago(g.statusChanged) : ''}: new events are counted, and the group stays ignored.
      </div>
    );
  if (g.regressions > 0)
    return (
      <div class="er-banner" role="status">
        This group regressed {g.regressions} time{g.regressions > 1 ? 's' : ''}
        {g.regressedRelease ? ', last in ' + g.regressedRelease : ''}.
      </div>
    );
  return null;
}

function EventList({ list, current, latest }: { list: EventSummary[]; current: string; latest: string }) {
  if (!list.length) return <p class="meta">No stored events.</p>;
  return (
    <div class="table-wrap er-events">
      <table aria-label="Latest events of the group">
        <thead>
          <tr>
            <th scope="col">When (UTC)</th>
            <th scope="col">Release</th>
            <th scope="col">Environment</th>
            <th scope="col">User</th>
          </tr>
        </thead>
        <tbody>
          {list.map((e) => (
            <tr aria-current={e.id === current ? 'true' : undefined} class={e.id === current ? 'er-current' : ''}>
              <td>
                <a
                  href={'?' + withEvent(e.id === latest ? null : e.id)}
                  title={'Event ' + e.id + ' at ' + e.timestamp}
                  onClick={(ev) => {
                    if (ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
                    ev.preventDefault();
                    navigate(null, { event: e.id === latest ? null : e.id });
                  }}
                >
                  {new Date(e.timestamp).toISOString().slice(5, 19).replace('T', ' ')}
                </a>
                {e.id === latest && <span class="meta"> latest</span>}
              </td>
              <td>{e.release || '–'}</td>
              <td>{e.environment || '–'}</td>
              <td class="fe-path" title={e.user}>
                {e.user || '–'}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function withEvent(id: string | null) {
  const q = new URLSearchParams(location.search);
  if (id) q.set('event', id);
  else q.delete('event');
  return q.toString();
}

function About({ g }: { g: GroupDetail }) {
  return (
    <dl class="er-about">
      <dt>Releases</dt>
      <dd>{g.releases.length ? g.releases.map((r) => <code class={'er-chip' + (r === g.regressedRelease && g.regressed ? ' er-chip-bad' : '')}>{r}</code>) : '–'}</dd>
      <dt>Environments</dt>
      <dd>{g.environments.length ? g.environments.map((r) => <code class="er-chip">{r}</code>) : '–'}</dd>
      <dt>Type</dt>
      <dd>{g.type || '–'}</dd>
      <dt>Fingerprint</dt>
      <dd>
        <code>{g.fingerprint}</code> <span class="meta">(grouping {g.grouping || 'v1'})</span>
      </dd>
      {g.regressions > 0 && (
        <>
          <dt>Regressions</dt>
          <dd>{num(g.regressions)}</dd>
        </>
      )}
    </dl>
  );
}
