// Errors: the error groups (GET /api/v1/error-groups) with their filters
// in the URL, the server's sort, each group's events over the range (one
// POST /api/v1/query of the errors dataset) and status changes for admin
// sessions; /errors/{id} is a group's page (errors-group.tsx).
import { useMemo, useState } from 'preact/hooks';
import { get, send } from '../api';
import { Spark } from '../chart';
import { ago, num } from '../format';
import { navigate, View } from '../state';
import { Empty, Failure, Panel, useData } from '../ui';
import { buckets, dsnOr, intervalOf, QueryAnswer, queryRange, useProjectInfo } from './frontend-parts';
import { ErrorGroupPage } from './errors-group';
import { Badges, cap, changeStatus, Group, STATUSES, useCanChange } from './errors-parts';
import './errors.css';

const LEVELS = ['fatal', 'error', 'warning', 'info', 'debug'];
const SORTS = [
  { key: 'last_seen', label: 'Last seen' },
  { key: 'first_seen', label: 'First seen' },
  { key: 'count', label: 'Events' },
  { key: 'users', label: 'Users' },
];

export function Errors({ view }: { view: View }) {
  const m = /^\/errors\/(\d+)\/?$/.exec(view.path);
  if (m) return <ErrorGroupPage view={view} id={Number(m[1])} />;
  if (view.path !== '/errors' && view.path !== '/errors/')
    return (
      <p class="failure" role="alert">
        No such page: {view.path}. <a href={'/errors' + location.search}>All error groups</a>
      </p>
    );
  return <ErrorList view={view} />;
}

interface Filters {
  status: string;
  level: string;
  environment: string;
  release: string;
  query: string;
  sort: string;
}

function filtersOf(v: View): Filters {
  const q = v.params;
  return {
    status: q.get('status') ?? 'unresolved',
    level: q.get('level') ?? '',
    environment: q.get('environment') ?? '',
    release: q.get('release') ?? '',
    query: q.get('query') ?? '',
    sort: q.get('sort') ?? 'last_seen',
  };
}

function apply(set: Record<string, string | null>) {
  const q = new URLSearchParams(location.search);
  if (Object.entries(set).some(([k, v]) => (q.get(k) ?? null) !== (v || null))) navigate(null, set);
}

interface CountRow {
  t: string;
  group_id: number;
  n: number;
}

function ErrorList({ view }: { view: View }) {
  const f = filtersOf(view);
  const [reload, setReload] = useState(0);
  const deps = [view.range, view.from, view.to, view.project];
  const groups = useData(
    () => get<{ groups: Group[] }>('/api/v1/error-groups', { ...f, limit: 100 }),
    [...deps, f.status, f.level, f.environment, f.release, f.query, f.sort, reload],
  );
  // The listed groups' events over the range, per bucket: the trend column.
  const ids = groups.data?.groups.map((g) => g.id) ?? [];
  const interval = intervalOf(view);
  const counts = useData(
    () =>
      ids.length
        ? send<QueryAnswer<CountRow>>('POST', '/api/v1/query', {
            dataset: 'errors',
            range: queryRange(view),
            interval,
            filter: [{ field: 'group_id', op: 'in', value: ids }],
            groupBy: ['group_id'],
            aggregations: { n: { type: 'count' } },
            limit: 100000,
          })
        : Promise.resolve(null),
    [...deps, ids.join(','), reload],
  );
  const trend = useMemo(() => {
    const out = new Map<number, { values: number[]; total: number }>();
    const c = counts.data;
    if (!c) return out;
    const ts = buckets(c.meta.from, c.meta.to, interval);
    const at = new Map(ts.map((t, i) => [t, i]));
    for (const r of c.rows) {
      let g = out.get(r.group_id);
      if (!g) out.set(r.group_id, (g = { values: ts.map(() => 0), total: 0 }));
      const i = at.get(Date.parse(r.t) / 1000);
      if (i !== undefined) g.values[i] += r.n;
      g.total += r.n;
    }
    return out;
  }, [counts.data, interval]);

  // set changes filters in the URL (a new history entry) when they differ.
  const set = (k: string, v: string, dflt = '') => apply({ [k]: v === dflt ? null : v });
  const filtered = f.level || f.environment || f.release || f.query || f.status !== 'unresolved';
  const list = groups.data?.groups ?? null;

  return (
    <>
      <form
        class="er-filters"
        role="search"
        aria-label="Filter error groups"
        onSubmit={(e) => {
          e.preventDefault();
          const d = new FormData(e.currentTarget as HTMLFormElement);
          apply({
            query: String(d.get('query') ?? '').trim() || null,
            environment: String(d.get('environment') ?? '').trim() || null,
            release: String(d.get('release') ?? '').trim() || null,
          });
        }}
      >
        <label>
          Status
          <select value={f.status} onChange={(e) => set('status', (e.target as HTMLSelectElement).value, 'unresolved')} data-testid="status-filter">
            {STATUSES.map((s) => (
              <option value={s}>{cap(s)}</option>
            ))}
            <option value="all">All</option>
          </select>
        </label>
        <label>
          Level
          <select value={f.level} onChange={(e) => set('level', (e.target as HTMLSelectElement).value)}>
            <option value="">Any</option>
            {LEVELS.map((l) => (
              <option value={l}>{l}</option>
            ))}
          </select>
        </label>
        <label>
          Environment
          <input name="environment" value={f.environment} size={12} placeholder="any" onChange={(e) => set('environment', (e.target as HTMLInputElement).value.trim())} />
        </label>
        <label>
          Release
          <input name="release" value={f.release} size={14} placeholder="any" onChange={(e) => set('release', (e.target as HTMLInputElement).value.trim())} />
        </label>
        <label class="er-grow">
          Search
          <input
            name="query"
            type="search"
            value={f.query}
            placeholder="title, culprit or fingerprint"
            onChange={(e) => set('query', (e.target as HTMLInputElement).value.trim())}
          />
        </label>
        <label>
          Sort by
          <select value={f.sort} onChange={(e) => set('sort', (e.target as HTMLSelectElement).value, 'last_seen')}>
            {SORTS.map((s) => (
              <option value={s.key}>{s.label}</option>
            ))}
          </select>
        </label>
        <button type="submit">Apply</button>
        {filtered && (
          <button type="button" onClick={() => navigate(null, { status: null, level: null, environment: null, release: null, query: null })}>
            Clear filters
          </button>
        )}
      </form>
      <Failure error={groups.error} />
      {list === null ? (
        !groups.error && <p class="loading">Loading…</p>
      ) : list.length === 0 ? (
        filtered ? (
          <Panel title="Error groups" wide>
            <p class="meta">No error groups match these filters.</p>
          </Panel>
        ) : (
          <Panel title="Error groups" wide>
            <DSNSnippet view={view} what="No unresolved errors. Any Sentry SDK sends its errors here by changing only its DSN:" />
          </Panel>
        )
      ) : (
        <GroupTable view={view} list={list} f={f} trend={trend} trendReady={!!counts.data && !counts.loading} trendError={counts.error} onChanged={() => setReload((n) => n + 1)} />
      )}
    </>
  );
}

// DSNSnippet is Sentry.init with the project's DSN (admin sessions), else
// a DSN with a placeholder key.
export function DSNSnippet({ view, what }: { view: View; what: string }) {
  const { dsn, id } = useProjectInfo(view);
  const d = dsnOr(dsn, id);
  return (
    <>
      <Empty what={what} snippet={`Sentry.init({ dsn: "${d}" });`} />
      {!dsn && (
        <p class="meta">
          Replace ald_public_… with the project's public key: an admin session shows the whole DSN here, and <code>alidade projects dsn NAME</code> prints it.
        </p>
      )}
      <p class="meta">Errors that the browser SDK's script tag catches (see Frontend) land here too.</p>
    </>
  );
}

export function groupHref(id: number) {
  const q = new URLSearchParams(location.search);
  q.delete('event');
  q.delete('before');
  const s = q.toString();
  return '/errors/' + id + (s ? '?' + s : '');
}

function GroupTable({ view, list, f, trend, trendReady, trendError, onChanged }: {
  view: View;
  list: Group[];
  f: Filters;
  trend: Map<number, { values: number[]; total: number }>;
  trendReady: boolean;
  trendError: Error | null;
  onChanged: () => void;
}) {
  const can = useCanChange();
  const [sel, setSel] = useState<Set<number>>(new Set());
  const [busy, setBusy] = useState(false);
  const [err, setErr] = useState<Error | null>(null);
  const ids = list.map((g) => g.id);
  const chosen = ids.filter((id) => sel.has(id));
  const all = chosen.length === ids.length && ids.length > 0;
  const act = async (status: string) => {
    setBusy(true);
    setErr(null);
    try {
      await changeStatus(chosen, status);
      setSel(new Set());
    } catch (e) {
      setErr(e as Error);
    }
    setBusy(false);
    onChanged();
  };
  const sortHeader = (key: string, label: string, numeric = true) => (
    <th scope="col" class={numeric ? 'num' : ''} aria-sort={f.sort === key ? 'descending' : 'none'}>
      <button type="button" onClick={() => navigate(null, { sort: key === 'last_seen' ? null : key })} title={'Sort by ' + label.toLowerCase() + ' (most first)'}>
        {label}
      </button>
    </th>
  );
  return (
    <Panel
      title={`Error groups (${list.length}${list.length >= 100 ? '+' : ''})`}
      wide
      actions={
        can ? (
          <div class="er-bulk" role="group" aria-label="Change the status of the selected groups">
            <span class="meta" aria-live="polite">
              {chosen.length ? chosen.length + ' selected' : 'Select groups to change their status'}
            </span>
            <button type="button" disabled={!chosen.length || busy} onClick={() => act('resolved')}>
              Resolve
            </button>
            <button type="button" disabled={!chosen.length || busy} onClick={() => act('ignored')}>
              Ignore
            </button>
            <button type="button" disabled={!chosen.length || busy} onClick={() => act('unresolved')}>
              Unresolve
            </button>
          </div>
        ) : (
          <span class="meta">Read-only session: status changes need an admin key.</span>
        )
      }
    >
      <Failure error={err} />
      <div class="table-wrap">
        <table aria-label="Error groups" class="er-groups">
          <thead>
            <tr>
              {can && (
                <th scope="col" class="er-check">
                  <input
                    type="checkbox"
                    aria-label="Select every group shown"
                    checked={all}
                    onChange={() => setSel(all ? new Set() : new Set(ids))}
                  />
                </th>
              )}
              <th scope="col">Error</th>
              <th scope="col">Events in range</th>
              {sortHeader('count', 'Events')}
              {sortHeader('users', 'Users')}
              {sortHeader('last_seen', 'Last seen')}
              {sortHeader('first_seen', 'First seen')}
            </tr>
          </thead>
          <tbody>
            {list.map((g) => {
              const t = trend.get(g.id);
              return (
                <tr data-testid={'group-' + g.id}>
                  {can && (
                    <td class="er-check">
                      <input
                        type="checkbox"
                        aria-label={'Select ' + g.title}
                        checked={sel.has(g.id)}
                        onChange={() => {
                          const n = new Set(sel);
                          n.has(g.id) ? n.delete(g.id) : n.add(g.id);
                          setSel(n);
                        }}
                      />
                    </td>
                  )}
                  <td class="er-title-cell">
                    <a
                      href={groupHref(g.id)}
                      class="er-title"
                      onClick={(e) => {
                        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
                        e.preventDefault();
                        navigate('/errors/' + g.id, { event: null, before: null });
                      }}
                    >
                      {g.title || '<no title>'}
                    </a>
                    <div class="er-sub">
                      <Badges g={g} />
                      <span class="er-culprit" title={g.culprit}>
                        {g.culprit || '–'}
                      </span>
                    </div>
                  </td>
                  <td class="er-trend">
                    {trendError ? (
                      '–'
                    ) : (
                      <span class="er-trend-in">
                        <Spark values={t?.values ?? []} />
                        <span class="num">{t ? num(t.total) : trendReady ? '0' : '…'}</span>
                      </span>
                    )}
                  </td>
                  <td class="num">{num(g.count)}</td>
                  <td class="num">{num(g.users)}</td>
                  <td class="num" title={g.lastSeen}>
                    {ago(g.lastSeen)}
                  </td>
                  <td class="num" title={g.firstSeen}>
                    {ago(g.firstSeen)}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      <p class="meta">
        {view.range === 'custom' ? 'Events in range' : 'Events in range (last ' + view.range + ')'} from the errors dataset; Events, Users, Last and First seen are the group's
        whole life.
      </p>
    </Panel>
  );
}
