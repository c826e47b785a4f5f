// One error event in full (GET /api/v1/events/{id}'s shape): its
// exceptions with their stack traces (newest frame first, in-app frames
// marked, the others folded), breadcrumbs, tags, contexts, request, user,
// extra data, grouping and attachments.
import { useState } from 'preact/hooks';

export interface Frame {
  function?: string;
  module?: string;
  package?: string;
  filename?: string;
  abs_path?: string;
  lineno?: number;
  colno?: number;
  in_app?: boolean;
  context_line?: string;
  pre_context?: string[];
  post_context?: string[];
  vars?: Record<string, unknown>;
  platform?: string;
}

export interface Exception {
  type: string;
  value: string;
  module?: string;
  mechanism?: { type?: string; handled?: boolean };
  stacktrace?: { frames: Frame[] | null } | null;
}

export interface Breadcrumb {
  timestamp: string | null;
  type?: string;
  category?: string;
  message?: string;
  level?: string;
  data?: unknown;
}

export interface EventView {
  id: string;
  groupId: number;
  timestamp: string;
  received: string;
  level: string;
  platform: string;
  title: string;
  culprit: string;
  message: string;
  release: string;
  dist?: string;
  environment: string;
  transaction: string;
  serverName: string;
  logger: string;
  user: { id?: string; email?: string; username?: string; ip_address?: string; name?: string; data?: unknown } | null;
  request: { url?: string; method?: string; query_string?: string; headers?: [string, string][]; data?: unknown } | null;
  tags: { key: string; value: string }[];
  contexts: Record<string, Record<string, unknown>> | null;
  extra: Record<string, unknown> | null;
  exception: Exception[];
  stacktrace: { frames: Frame[] | null } | null;
  breadcrumbs: Breadcrumb[];
  sdk: { name?: string; version?: string };
  fingerprint: string[];
  grouping: { version: string; fingerprint: string; method: string; components: string[] };
  size: number;
  attachments: { filename: string; contentType: string; attachmentType: string; size: number }[];
}

// when is a time as "2026-12-06 13:17:00 UTC".
export function when(iso: string | null | undefined): string {
  if (!iso) return '–';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toISOString().slice(0, 19).replace('T', ' ') + ' UTC';
}

function clock(iso: string | null): string {
  if (!iso) return '–';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().slice(11, 23);
}

function bytes(n: number): string {
  return n >= 1 << 20 ? (n / (1 << 20)).toFixed(1) + ' MB' : n >= 1024 ? (n / 1024).toFixed(1) + ' KB' : n + ' B';
}

function show(v: unknown): string {
  if (v === null || v === undefined) return '–';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

export function EventDetail({ ev, latest }: { ev: EventView; latest: boolean }) {
  // Tags the event carries, and the fields that read as tags.
  const tags: { key: string; value: string }[] = [
    { key: 'level', value: ev.level },
    { key: 'release', value: ev.release },
    { key: 'environment', value: ev.environment },
    { key: 'transaction', value: ev.transaction },
    { key: 'server', value: ev.serverName },
    { key: 'platform', value: ev.platform },
    { key: 'logger', value: ev.logger },
    { key: 'sdk', value: [ev.sdk?.name, ev.sdk?.version].filter(Boolean).join(' ') },
  ].filter((t) => t.value);
  const own = ev.tags ?? [];
  const excs = (ev.exception ?? []).slice().reverse(); // the main exception (last) first
  return (
    <section class="panel wide er-event" aria-labelledby="er-event-title" data-testid="event">
      <header>
        <h2 id="er-event-title">
          {latest ? 'Latest event' : 'Event'} <code class="er-id">{ev.id}</code>
        </h2>
        <span class="meta" title={'received ' + when(ev.received)}>
          {when(ev.timestamp)}
        </span>
      </header>
      {ev.message && ev.message !== ev.title && <p class="er-message">{ev.message}</p>}
      <h3 class="fe-sub">Stack trace</h3>
      {excs.length ? (
        excs.map((x, i) => <ExceptionView x={x} key={i + ':' + ev.id} chained={i > 0} />)
      ) : ev.stacktrace?.frames?.length ? (
        <Frames frames={ev.stacktrace.frames} key={'st' + ev.id} />
      ) : (
        <p class="meta">This event has no stack trace{ev.message ? '' : ' and no message'}.</p>
      )}
      <div class="er-cols">
        <div>
          <h3 class="fe-sub">Tags</h3>
          <ul class="er-tags" aria-label="Tags">
            {[...own, ...tags.filter((t) => !own.some((o) => o.key === t.key))].map((t) => (
              <li>
                <span class="er-tag-key">{t.key}</span>
                <span class="er-tag-value">{t.value}</span>
              </li>
            ))}
          </ul>
          {ev.user && (
            <>
              <h3 class="fe-sub">User</h3>
              <KV obj={ev.user as Record<string, unknown>} label="User" />
            </>
          )}
          {ev.request && (ev.request.url || ev.request.method) && (
            <>
              <h3 class="fe-sub">Request</h3>
              <p class="er-request">
                <code>
                  {ev.request.method} {ev.request.url}
                  {ev.request.query_string ? '?' + ev.request.query_string : ''}
                </code>
              </p>
              {ev.request.headers && ev.request.headers.length > 0 && (
                <details>
                  <summary>Headers ({ev.request.headers.length})</summary>
                  <KV obj={Object.fromEntries(ev.request.headers)} label="Request headers" />
                </details>
              )}
            </>
          )}
        </div>
        <div>
          <h3 class="fe-sub">Contexts</h3>
          {ev.contexts && Object.keys(ev.contexts).length ? (
            Object.entries(ev.contexts).map(([k, c]) => (
              <div class="er-context">
                <h4>{k}</h4>
                <KV obj={c && typeof c === 'object' ? (c as Record<string, unknown>) : { value: c }} label={'Context ' + k} />
              </div>
            ))
          ) : (
            <p class="meta">No contexts.</p>
          )}
        </div>
      </div>
      <h3 class="fe-sub">Breadcrumbs</h3>
      <Breadcrumbs list={ev.breadcrumbs ?? []} />
      {ev.extra && Object.keys(ev.extra).length > 0 && (
        <>
          <h3 class="fe-sub">Extra</h3>
          <KV obj={ev.extra} label="Extra data" />
        </>
      )}
      <details class="er-grouping">
        <summary>
          Grouping: {ev.grouping.method} ({ev.grouping.version}), fingerprint <code>{ev.grouping.fingerprint}</code>
        </summary>
        <ul>
          {ev.grouping.components.map((c) => (
            <li>
              <code>{c}</code>
            </li>
          ))}
        </ul>
        {ev.fingerprint.length > 0 && <p class="meta">The event's own fingerprint: {ev.fingerprint.join(', ')}</p>}
      </details>
      {ev.attachments.length > 0 && (
        <>
          <h3 class="fe-sub">Attachments</h3>
          <ul>
            {ev.attachments.map((a) => (
              <li>
                {a.filename} <span class="meta">({a.contentType || a.attachmentType}, {bytes(a.size)})</span>
              </li>
            ))}
          </ul>
        </>
      )}
      <p class="meta">
        Received {when(ev.received)} · {bytes(ev.size)} as sent
      </p>
    </section>
  );
}

function ExceptionView({ x, chained }: { x: Exception; chained: boolean }) {
  const h = x.mechanism?.handled;
  return (
    <div class="er-exception">
      <p class="er-exc-head">
        {chained && <span class="meta">caused by </span>}
        <strong>{x.type || 'Error'}</strong>
        {x.value ? ': ' + x.value : ''}
        {x.mechanism && (
          <span class="meta">
            {' '}
            · {x.mechanism.type || 'mechanism'}
            {h === false ? ', unhandled' : h === true ? ', handled' : ''}
          </span>
        )}
      </p>
      {x.stacktrace?.frames?.length ? <Frames frames={x.stacktrace.frames} /> : <p class="meta">No frames.</p>}
    </div>
  );
}

// Frames lists the frames newest first; frames outside the app fold into
// one line each run, unless shown.
function Frames({ frames }: { frames: Frame[] }) {
  const [all, setAll] = useState(false);
  const list = frames.slice().reverse();
  const anyApp = list.some((f) => f.in_app);
  const system = list.filter((f) => !f.in_app).length;
  const items: preact.ComponentChildren[] = [];
  let folded = 0;
  const flush = () => {
    if (folded) items.push(<li class="er-folded meta">{folded} system frame{folded > 1 ? 's' : ''}</li>);
    folded = 0;
  };
  list.forEach((f, i) => {
    if (anyApp && !all && !f.in_app) {
      folded++;
      return;
    }
    flush();
    items.push(<FrameView f={f} open={i === list.findIndex((x) => x.in_app) || (!anyApp && i === 0)} />);
  });
  flush();
  return (
    <div class="er-frames">
      {anyApp && system > 0 && (
        <button type="button" class="er-toggle" aria-pressed={all} onClick={() => setAll(!all)}>
          {all ? 'Only in-app frames' : `Show all ${list.length} frames`}
        </button>
      )}
      <ol aria-label="Stack frames, newest first">{items}</ol>
    </div>
  );
}

function FrameView({ f, open }: { f: Frame; open: boolean }) {
  const file = f.filename || f.abs_path || f.module || '?';
  const where = file + (f.lineno ? ':' + f.lineno + (f.colno ? ':' + f.colno : '') : '');
  const code = f.context_line !== undefined || (f.pre_context?.length ?? 0) > 0;
  const vars = f.vars && typeof f.vars === 'object' && Object.keys(f.vars).length > 0;
  const head = (
    <>
      <span class="er-fn">{f.function || '?'}</span> <span class="er-at">in</span> <span class="er-file" title={f.abs_path || file}>{where}</span>
      {f.module && f.module !== file && <span class="meta"> · {f.module}</span>}
      {f.in_app ? <span class="badge er-inapp">in app</span> : null}
    </>
  );
  return (
    <li class={'er-frame' + (f.in_app ? ' er-frame-app' : '')}>
      {code || vars ? (
        <details open={open}>
          <summary>{head}</summary>
          {code && <Context f={f} />}
          {vars && <KV obj={f.vars!} label="Local variables" />}
        </details>
      ) : (
        <div class="er-frame-line">{head}</div>
      )}
    </li>
  );
}

function Context({ f }: { f: Frame }) {
  const pre = f.pre_context ?? [], post = f.post_context ?? [];
  const first = f.lineno ? f.lineno - pre.length : 0;
  const lines = [...pre.map((t) => ({ t, cur: false })), ...(f.context_line !== undefined ? [{ t: f.context_line, cur: true }] : []), ...post.map((t) => ({ t, cur: false }))];
  return (
    <pre class="code er-context-code">
      {lines.map((l, i) => (
        <div class={l.cur ? 'er-line-cur' : ''}>
          <span class="er-lineno" aria-hidden="true">
            {first ? first + i : ''}
          </span>
          {l.t}
        </div>
      ))}
    </pre>
  );
}

function KV({ obj, label }: { obj: Record<string, unknown>; label: string }) {
  const entries = Object.entries(obj ?? {});
  if (!entries.length) return <p class="meta">–</p>;
  return (
    <table class="er-kv" aria-label={label}>
      <tbody>
        {entries.map(([k, v]) => (
          <tr>
            <th scope="row">{k}</th>
            <td>
              <code>{show(v)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Breadcrumbs({ list }: { list: Breadcrumb[] }) {
  const [all, setAll] = useState(false);
  if (!list.length) return <p class="meta">No breadcrumbs.</p>;
  const newest = list.slice().reverse();
  const shown = all ? newest : newest.slice(0, 20);
  return (
    <>
      <div class="table-wrap">
        <table class="er-crumbs" aria-label="Breadcrumbs, newest first">
          <thead>
            <tr>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Category</th>
              <th scope="col">Level</th>
              <th scope="col">Message</th>
              <th scope="col">Data</th>
            </tr>
          </thead>
          <tbody>
            {shown.map((b) => (
              <tr>
                <td class="num">{clock(b.timestamp)}</td>
                <td>{b.category || b.type || '–'}</td>
                <td>{b.level ? <span class={'badge ' + b.level}>{b.level}</span> : '–'}</td>
                <td class="er-wrap">{b.message || '–'}</td>
                <td class="er-wrap">
                  <code>{b.data === undefined || b.data === null ? '' : show(b.data)}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {newest.length > 20 && (
        <button type="button" aria-expanded={all} onClick={() => setAll(!all)}>
          {all ? 'Only the newest 20' : `All ${newest.length} breadcrumbs`}
        </button>
      )}
    </>
  );
}
