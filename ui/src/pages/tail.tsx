// Live tail: every record the server accepts, as it arrives (GET
// /api/v1/tail, Server-Sent Events: one JSON record a message, with its
// dataset, timestamp and fields by name), filtered like `wrangler tail`:
// datasets, status, method, text search, field conditions, sampling. The
// filters live in the URL; the page keeps the last 1,000 records, newest
// on top, and draws at most a few hundred rows, a few times a second, so
// hundreds of records a second stay smooth. Paused, it keeps receiving
// and counts what it holds back. A dropped stream reconnects with backoff;
// a server without the endpoint (404) says so and stops.
import { Component } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { get } from '../api';
import { navigate, View } from '../state';
import { Empty, Panel, useData } from '../ui';
import { CopyButton } from './settings-parts';
import { Conn, openTail, Tail as Stream } from './tail-stream';
import './tail.css';

export const KEEP = 1000; // records kept
const PAGE = 200; // rows drawn at once (more on demand)
const DRAW_MS = 250; // at most four draws a second

interface Rec {
  id: number;
  t: number; // ms
  dataset: string;
  fields: Record<string, unknown>;
}

interface Filters {
  datasets: string[];
  status: string;
  method: string;
  search: string;
  fields: string[]; // name:op:value
  sampling: string;
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];
// The operators GET /api/v1/tail takes (internal/tail's ops).
const FIELD_OPS = ['=', '!=', '>', '<', '>=', '<=', 'contains', '!contains'];
const SAMPLINGS = [
  { v: '', label: 'every record' },
  { v: '0.5', label: '50 %' },
  { v: '0.1', label: '10 %' },
  { v: '0.01', label: '1 %' },
];

function filtersOf(v: View): Filters {
  const q = v.params;
  const list = (k: string, sep: string) => (q.get(k) ?? '').split(sep).map((s) => s.trim()).filter(Boolean);
  return {
    datasets: list('dataset', ','),
    status: q.get('status') ?? '',
    method: q.get('method') ?? '',
    search: q.get('search') ?? '',
    fields: list('field', '\n'),
    sampling: q.get('sampling') ?? '',
  };
}

// tailParams are the endpoint's query parameters for the filters.
export function tailParams(f: Filters): URLSearchParams {
  const p = new URLSearchParams();
  for (const d of f.datasets) p.append('dataset', d);
  if (f.status) p.set('status', f.status);
  if (f.method) p.set('method', f.method);
  if (f.search) p.set('search', f.search);
  for (const x of f.fields) p.append('field', x);
  if (f.sampling) p.set('sampling', f.sampling);
  return p;
}

function set(k: string, v: string | null) {
  navigate(null, { [k]: v || null }, true);
}

export function Tail({ view }: { view: View }) {
  const f = filtersOf(view);
  const params = tailParams(f).toString();
  const datasets = useData(() => get<{ datasets: { name: string }[] }>('/api/v1/datasets'), [view.project]);

  const buf = useRef<Rec[]>([]); // newest first
  const seq = useRef(0);
  const arrivals = useRef<number[]>([]); // arrival times of the last 5 s
  const [shown, setShown] = useState<Rec[]>([]);
  const [paused, setPaused] = useState(false);
  const pausedRef = useRef(false);
  const [held, setHeld] = useState(0); // received while paused
  const heldRef = useRef(0);
  const [rate, setRate] = useState(0);
  const [conn, setConn] = useState<Conn>({ kind: 'connecting', attempt: 0 });
  const [notices, setNotices] = useState<{ id: number; at: number; n: Record<string, unknown>; event: string }[]>([]);
  const [limit, setLimit] = useState(PAGE);
  const stream = useRef<Stream | null>(null);
  const drawTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  const draw = () => {
    if (drawTimer.current !== undefined) return;
    drawTimer.current = setTimeout(() => {
      drawTimer.current = undefined;
      const now = Date.now();
      const a = arrivals.current;
      while (a.length && a[0] < now - 5000) a.shift();
      setRate(a.length / 5);
      if (pausedRef.current) setHeld(heldRef.current);
      else setShown(buf.current.slice());
    }, DRAW_MS);
  };

  useEffect(() => {
    const s = openTail('/api/v1/tail', new URLSearchParams(params), {
      record: (r) => {
        const rec = toRec(r, ++seq.current);
        const b = buf.current;
        b.unshift(rec);
        if (b.length > KEEP) b.length = KEEP;
        arrivals.current.push(Date.now());
        if (pausedRef.current) heldRef.current++;
        draw();
      },
      notice: (n, event) => {
        const ev = eventOf(n, event);
        // ready: a new tail, which the server does not sample (yet).
        if (ev === 'ready') setNotices((ns) => ns.filter((x) => x.event !== 'sampling'));
        else setNotices((ns) => [{ id: ++seq.current, at: Date.now(), n, event: ev }, ...ns.filter((x) => noticeKind(x.n, x.event) !== noticeKind(n, ev))].slice(0, 3));
      },
      state: setConn,
    });
    stream.current = s;
    // The rate falls to 0 when records stop.
    const tick = setInterval(draw, 1000);
    return () => {
      s.close();
      clearInterval(tick);
      clearTimeout(drawTimer.current);
      drawTimer.current = undefined;
    };
  }, [params, view.project]);

  const pause = (p: boolean) => {
    pausedRef.current = p;
    setPaused(p);
    heldRef.current = 0;
    if (!p) {
      setHeld(0);
      setShown(buf.current.slice());
    }
  };
  const clear = () => {
    buf.current = [];
    heldRef.current = 0;
    setHeld(0);
    setShown([]);
    setLimit(PAGE);
  };

  const names = useMemo(() => {
    const s = new Set<string>();
    for (const r of shown.slice(0, 50)) for (const k of Object.keys(r.fields)) s.add(k);
    return [...s].sort();
  }, [shown]);

  if (conn.kind === 'unavailable') {
    return (
      <Panel title="Live tail" wide>
        <div class="tl-unavailable" role="status" data-testid="tl-unavailable">
          <p>
            <strong>Live tail is not available on this server.</strong>
          </p>
          <p class="meta">
            <code>GET /api/v1/tail</code> answered {conn.status}: this server's version does not stream records as they arrive. Stored points are in{' '}
            <a href={'/explore' + location.search}>Explore</a>.
          </p>
        </div>
      </Panel>
    );
  }

  const rows = shown.slice(0, limit);
  return (
    <div class="tl">
      <Controls f={f} datasets={datasets.data?.datasets.map((d) => d.name) ?? []} names={names} />
      <div class="tl-bar">
        <ConnState conn={conn} rate={rate} retry={() => stream.current?.retry()} />
        <span class="tl-buttons">
          <button type="button" aria-pressed={paused} onClick={() => pause(!paused)} data-testid="tl-pause">
            {paused ? '▶ Resume' : '❚❚ Pause'}
          </button>
          <button type="button" onClick={clear} disabled={!shown.length && !buf.current.length} data-testid="tl-clear">
            Clear
          </button>
        </span>
        <span class="meta" aria-live="polite" data-testid="tl-count">
          {shown.length.toLocaleString('en-US')} record{shown.length === 1 ? '' : 's'}
          {shown.length >= KEEP ? ` (the last ${KEEP.toLocaleString('en-US')})` : ''}
          {paused && held > 0 ? ` · ${held.toLocaleString('en-US')} new while paused` : ''}
        </span>
      </div>
      {notices.map((x) => (
        <div class="tl-notice" role="status" data-testid="tl-notice">
          <span>{noticeText(x.n, x.event)}</span>
          <button type="button" aria-label="Dismiss" onClick={() => setNotices((ns) => ns.filter((y) => y.id !== x.id))}>
            ✕
          </button>
        </div>
      ))}
      {(conn.kind === 'refused' || (conn.kind === 'waiting' && conn.status)) && (
        <p class="failure" role="alert" data-testid="tl-refused">
          The server refused the stream ({conn.status}): {conn.message}
          {conn.kind === 'waiting' ? ' It tries again by itself.' : ''}
        </p>
      )}
      {shown.length === 0 && conn.kind === 'live' && !paused && (
        <Panel title="Records" wide>
          <Empty what="Connected; waiting for records that match. Anything accepted from now on shows here, e.g.:" snippet={writeSnippet()} />
        </Panel>
      )}
      {shown.length > 0 && (
        <section class="tl-list" aria-label="Records, newest first" data-testid="tl-list">
          {rows.map((r) => (
            <Row key={r.id} r={r} />
          ))}
        </section>
      )}
      {shown.length > rows.length && (
        <p>
          <button type="button" onClick={() => setLimit((l) => Math.min(l + PAGE, KEEP))}>
            Show {Math.min(PAGE, shown.length - rows.length)} more
          </button>{' '}
          <span class="meta">
            {rows.length} of {shown.length} drawn{paused ? '' : '; pause to read further down'}
          </span>
        </p>
      )}
    </div>
  );
}

const writeSnippet = () => `curl -X POST ${location.origin}/api/v1/datasets/requests/points \\
  -H "Authorization: Bearer $ALIDADE_WRITE_KEY" \\
  -d '{"index":"GET /api/lessons/:id","fields":{"url":"/api/lessons/7","method":"GET","duration":42.5,"status":200}}'`;

function toRec(r: Record<string, unknown>, id: number): Rec {
  const { dataset, timestamp, ...fields } = r;
  let t = typeof timestamp === 'number' ? timestamp : typeof timestamp === 'string' ? Date.parse(timestamp) : NaN;
  if (!Number.isFinite(t)) t = Date.now();
  return { id, t, dataset: String(dataset), fields };
}

// eventOf is a message's event: its SSE event name, else its "event"
// field (the server's own events: ready, sampling, dropped).
function eventOf(n: Record<string, unknown>, event: string): string {
  return event !== 'message' ? event : typeof n.event === 'string' ? n.event : event;
}

function noticeKind(n: Record<string, unknown>, event: string): string {
  return event !== 'message' ? event : Object.keys(n).sort().join(',');
}

// noticeText says what a message without a dataset means.
function noticeText(n: Record<string, unknown>, event: string): string {
  if (event === 'sampling' && typeof n.rate === 'number') {
    const pct = n.rate * 100;
    const m = n.matched_per_second;
    const why = typeof m === 'number' && typeof n.max_rate === 'number' ? ` (about ${Math.round(m).toLocaleString('en-US')} records a second match; a tail is sent at most ${n.max_rate.toLocaleString('en-US')})` : '';
    return n.rate >= 1 ? 'The server sends every matching record again.' : `Under load: the server sends about ${pct < 1 ? pct.toPrecision(2) : Math.round(pct)} % of the matching records${why}.`;
  }
  if (typeof n.notice === 'string') return n.notice;
  if (typeof n.message === 'string') return n.message;
  return (event !== 'message' ? event + ': ' : '') + JSON.stringify(n);
}

function ConnState({ conn, rate, retry }: { conn: Conn; rate: number; retry: () => void }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (conn.kind !== 'waiting') return;
    const t = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(t);
  }, [conn]);
  let text = '';
  let cls = '';
  switch (conn.kind) {
    case 'connecting':
      text = conn.attempt ? `Reconnecting (attempt ${conn.attempt + 1})…` : 'Connecting…';
      cls = 'tl-wait';
      break;
    case 'live':
      text = 'Live' + (rate ? ` · ${rate < 10 ? rate.toFixed(1) : Math.round(rate)} records/s` : '');
      cls = 'tl-live';
      break;
    case 'waiting':
      text = `Disconnected: ${conn.why}. Reconnecting in ${Math.max(0, Math.ceil((conn.until - Date.now()) / 1000))} s`;
      cls = 'tl-down';
      break;
    case 'refused':
      text = 'Not connected';
      cls = 'tl-down';
      break;
    default:
      text = 'Closed';
  }
  return (
    <span class={'tl-conn ' + cls} role="status" data-testid="tl-conn" data-state={conn.kind}>
      <span class="tl-dot" aria-hidden="true" />
      {text}
      {(conn.kind === 'waiting' || conn.kind === 'refused') && (
        <button type="button" onClick={retry} data-testid="tl-retry">
          Reconnect now
        </button>
      )}
    </span>
  );
}

function Controls({ f, datasets, names }: { f: Filters; datasets: string[]; names: string[] }) {
  const [search, setSearch] = useState(f.search);
  const [fname, setFname] = useState('');
  const [fop, setFop] = useState('=');
  const [fval, setFval] = useState('');
  useEffect(() => setSearch(f.search), [f.search]);
  const all = [...new Set([...datasets, ...f.datasets])].sort();
  const toggle = (d: string, on: boolean) => set('dataset', (on ? [...f.datasets, d] : f.datasets.filter((x) => x !== d)).join(','));
  const addField = () => {
    const n = fname.trim();
    if (!n || n.includes(':')) return;
    set('field', [...f.fields, `${n}:${fop}:${fval.trim()}`].join('\n'));
    setFname('');
    setFval('');
  };
  return (
    <form
      class="tl-filters"
      role="search"
      aria-label="Filter the live tail"
      onSubmit={(e) => {
        e.preventDefault();
        set('search', search.trim());
      }}
    >
      <details class="tl-ds">
        <summary data-testid="tl-datasets">{f.datasets.length === 0 ? 'All datasets' : f.datasets.length === 1 ? f.datasets[0] : f.datasets.length + ' datasets'}</summary>
        <div class="tl-ds-list" role="group" aria-label="Datasets">
          {all.length === 0 && <span class="meta">No dataset yet.</span>}
          {all.map((d) => (
            <label>
              <input type="checkbox" checked={f.datasets.includes(d)} onChange={(e) => toggle(d, (e.target as HTMLInputElement).checked)} data-testid={'tl-ds-' + d} /> {d}
            </label>
          ))}
          {f.datasets.length > 0 && (
            <button type="button" onClick={() => set('dataset', null)}>
              All datasets
            </button>
          )}
        </div>
      </details>
      <label>
        Status
        <select value={f.status} onChange={(e) => set('status', (e.target as HTMLSelectElement).value)} data-testid="tl-status">
          <option value="">any</option>
          <option value="ok">ok</option>
          <option value="error">error</option>
        </select>
      </label>
      <label>
        Method
        <select value={f.method} onChange={(e) => set('method', (e.target as HTMLSelectElement).value)} data-testid="tl-method">
          <option value="">any</option>
          {[...new Set([...METHODS, ...(f.method ? [f.method] : [])])].map((m) => (
            <option value={m}>{m}</option>
          ))}
        </select>
      </label>
      <label class="tl-grow">
        Search
        <input type="search" value={search} placeholder="text in any field (Enter)" onInput={(e) => setSearch((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), set('search', (e.target as HTMLInputElement).value.trim()))} onBlur={() => search.trim() !== f.search && set('search', search.trim())} data-testid="tl-search" />
      </label>
      <label>
        Sampling
        <select value={f.sampling} onChange={(e) => set('sampling', (e.target as HTMLSelectElement).value)} data-testid="tl-sampling">
          {[...SAMPLINGS, ...(f.sampling && !SAMPLINGS.some((s) => s.v === f.sampling) ? [{ v: f.sampling, label: f.sampling }] : [])].map((s) => (
            <option value={s.v}>{s.label}</option>
          ))}
        </select>
      </label>
      <fieldset class="tl-field" aria-label="Add a field condition">
        <legend class="sr-only">Field condition</legend>
        <label>
          Field
          <input type="text" list="tl-names" value={fname} placeholder="e.g. status" onInput={(e) => setFname((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), addField())} data-testid="tl-f-name" />
        </label>
        <datalist id="tl-names">
          {names.map((n) => (
            <option value={n} />
          ))}
        </datalist>
        <label>
          <span class="sr-only">Operator</span>
          <select value={fop} onChange={(e) => setFop((e.target as HTMLSelectElement).value)} data-testid="tl-f-op">
            {FIELD_OPS.map((o) => (
              <option value={o}>{o}</option>
            ))}
          </select>
        </label>
        <label>
          <span class="sr-only">Value</span>
          <input type="text" value={fval} placeholder="value" onInput={(e) => setFval((e.target as HTMLInputElement).value)} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), addField())} data-testid="tl-f-value" />
        </label>
        <button type="button" onClick={addField} disabled={!fname.trim() || fname.includes(':')} data-testid="tl-f-add">
          Add
        </button>
      </fieldset>
      {f.fields.length > 0 && (
        <ul class="tl-chips" aria-label="Field conditions">
          {f.fields.map((x, i) => (
            <li>
              <code>{x.replace(/^([^:]*):([^:]*):/, '$1 $2 ')}</code>
              <button type="button" aria-label={'Remove ' + x} onClick={() => set('field', f.fields.filter((_, j) => j !== i).join('\n'))}>
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </form>
  );
}

function time(t: number): string {
  const d = new Date(t);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}.${p(d.getMilliseconds(), 3)}`;
}

// badgeOf is a record's status or level, and how bad it is.
function badgeOf(f: Record<string, unknown>): { text: string; cls: string } | null {
  const s = f.status;
  if (typeof s === 'number' && s >= 100 && s < 600) return { text: String(s), cls: s >= 500 ? 'tl-bad' : s >= 400 ? 'tl-warn' : 'tl-good' };
  const l = f.level;
  if (typeof l === 'string' && l) return { text: l, cls: /^(error|fatal|critical)$/i.test(l) ? 'tl-bad' : /^warn/i.test(l) ? 'tl-warn' : '' };
  return null;
}

const MAIN = ['message', 'title', 'name'];
const ROUTE = ['url', 'endpoint', 'route', 'path', 'page'];

// summary is the line a record reads as: method and route, or its
// message, then its other fields.
function summary(f: Record<string, unknown>): { head: string; rest: string } {
  const used = new Set(['status', 'level']);
  let head = '';
  const m = MAIN.find((k) => typeof f[k] === 'string' && f[k]);
  if (m) {
    head = String(f[m]);
    used.add(m);
  } else {
    const r = ROUTE.find((k) => typeof f[k] === 'string' && f[k]);
    const parts: string[] = [];
    if (typeof f.method === 'string') {
      parts.push(f.method);
      used.add('method');
    }
    if (r) {
      parts.push(String(f[r]));
      used.add(r);
    }
    head = parts.join(' ');
  }
  const rest: string[] = [];
  for (const [k, v] of Object.entries(f)) {
    if (used.has(k) || v === null || v === undefined || v === '') continue;
    rest.push(k + '=' + (typeof v === 'object' ? JSON.stringify(v) : String(v)));
    if (rest.length >= 6) break;
  }
  return { head, rest: rest.join(' ') };
}

// Row draws a record; a record never changes, so a row is drawn once,
// and its fields only when it is opened.
class Row extends Component<{ r: Rec }, { open: boolean }> {
  state = { open: false };
  shouldComponentUpdate(next: { r: Rec }, st: { open: boolean }) {
    return next.r !== this.props.r || st.open !== this.state.open;
  }
  render() {
    return <RowBody r={this.props.r} open={this.state.open} toggle={(open) => this.setState({ open })} />;
  }
}

function RowBody({ r, open, toggle }: { r: Rec; open: boolean; toggle: (open: boolean) => void }) {
  const b = badgeOf(r.fields);
  const s = summary(r.fields);
  return (
    <details class="tl-row" data-dataset={r.dataset} onToggle={(e) => toggle((e.currentTarget as HTMLDetailsElement).open)}>
      <summary>
        <time class="tl-t" dateTime={new Date(r.t).toISOString()}>
          {time(r.t)}
        </time>
        <span class="badge tl-ds-badge">{r.dataset}</span>
        {b ? <span class={'badge ' + b.cls}>{b.text}</span> : <span />}
        <span class="tl-sum">
          {s.head && <strong>{s.head}</strong>} <span class="tl-rest">{s.rest}</span>
        </span>
      </summary>
      {open && <Fields r={r} />}
    </details>
  );
}

function Fields({ r }: { r: Rec }) {
  const json = JSON.stringify({ dataset: r.dataset, timestamp: new Date(r.t).toISOString(), ...r.fields }, null, 2);
  return (
    <div class="tl-fields">
      <table aria-label="All fields">
        <tbody>
          <tr>
            <th scope="row">timestamp</th>
            <td>{new Date(r.t).toISOString()}</td>
          </tr>
          {Object.entries(r.fields).map(([k, v]) => (
            <tr>
              <th scope="row">{k}</th>
              <td>{typeof v === 'object' && v !== null ? JSON.stringify(v) : String(v)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <CopyButton text={json} what="the record as JSON" label="Copy JSON" />
    </div>
  );
}
