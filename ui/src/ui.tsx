// Shared pieces of every page: data loading that follows the live ticks,
// panels, big numbers, sortable tables and empty states that teach.
import { ComponentChildren, createContext } from 'preact';
import { useContext, useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, Session } from './api';
import { change } from './format';

// Tick changes whenever the page's data should be read again (a change
// the server announced, or the refresh timer).
export const Tick = createContext(0);
export const SessionCtx = createContext<Session | null>(null);

export function useSession(): Session {
  return useContext(SessionCtx)!;
}

export interface Loaded<T> {
  data: T | null;
  error: ApiError | Error | null;
  loading: boolean;
}

// useData runs load whenever deps or the live tick change; the previous
// data stays on screen while the next loads.
export function useData<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const tick = useContext(Tick);
  const [s, set] = useState<Loaded<T>>({ data: null, error: null, loading: true });
  useEffect(() => {
    let alive = true;
    set((p) => ({ ...p, loading: true }));
    load().then(
      (data) => alive && set({ data, error: null, loading: false }),
      (error) => alive && set((p) => ({ data: p.data, error, loading: false })),
    );
    return () => {
      alive = false;
    };
  }, [...deps, tick]);
  return s;
}

export function Panel({ title, children, wide, actions }: { title: string; children: ComponentChildren; wide?: boolean; actions?: ComponentChildren }) {
  return (
    <section class={'panel' + (wide ? ' wide' : '')} aria-label={title}>
      <header>
        <h2>{title}</h2>
        {actions}
      </header>
      {children}
    </section>
  );
}

// Stat is a big number with its change against the previous period;
// worse says which direction is bad (1: up is bad, -1: down is bad).
export function Stat({ label, value, cur, prev, worse = 0, testid }: { label: string; value: string; cur?: number | null; prev?: number | null; worse?: number; testid?: string }) {
  const c = change(cur, prev);
  const cls = c.dir === 0 || worse === 0 ? '' : c.dir === worse ? 'bad' : 'good';
  return (
    <div class="stat" data-testid={testid}>
      <div class="label">{label}</div>
      <div class="value" data-value={cur ?? ''}>
        {value}
      </div>
      <div class={'delta ' + cls} title="against the previous period of the same length">{c.text || '\u00a0'}</div>
    </div>
  );
}

export function Failure({ error }: { error: Error | null }) {
  if (!error) return null;
  return (
    <p class="failure" role="alert">
      {error.message}
    </p>
  );
}

// Empty shows what would fill a panel: one snippet to copy.
export function Empty({ what, snippet }: { what: string; snippet: string }) {
  return (
    <div class="empty">
      <p>{what}</p>
      <pre>
        <code>{snippet}</code>
      </pre>
      <button type="button" onClick={() => navigator.clipboard?.writeText(snippet)}>
        Copy
      </button>
    </div>
  );
}

export interface Column<R> {
  key: string;
  label: string;
  value: (r: R) => number | string | null;
  render?: (r: R) => ComponentChildren;
  numeric?: boolean;
}

// Table sorts by a column when its header is clicked (again: the other way).
export function Table<R>({ rows, columns, initial, label }: { rows: R[]; columns: Column<R>[]; initial?: string; label: string }) {
  const [sort, setSort] = useState<{ key: string; desc: boolean }>({ key: initial ?? columns[0].key, desc: true });
  const sorted = useMemo(() => {
    const col = columns.find((c) => c.key === sort.key) ?? columns[0];
    const out = [...rows];
    out.sort((a, b) => {
      const x = col.value(a), y = col.value(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const r = x < y ? -1 : 1;
      return sort.desc ? -r : r;
    });
    return out;
  }, [rows, columns, sort]);
  return (
    <div class="table-wrap">
      <table aria-label={label}>
        <thead>
          <tr>
            {columns.map((c) => (
              <th
                scope="col"
                class={c.numeric ? 'num' : ''}
                aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : 'none'}
              >
                <button type="button" onClick={() => setSort({ key: c.key, desc: sort.key === c.key ? !sort.desc : true })}>
                  {c.label}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {sorted.map((r) => (
            <tr>
              {columns.map((c) => (
                <td class={c.numeric ? 'num' : ''}>{c.render ? c.render(r) : String(c.value(r) ?? '–')}</td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

// times turns RFC 3339 bucket times into Unix seconds for uPlot.
export function times(buckets: { t: string }[]): number[] {
  return buckets.map((b) => Date.parse(b.t) / 1000);
}
