// The live tail's connection: GET /api/v1/tail read as Server-Sent Events
// over fetch (with the session cookie and the project header, as every
// call of api.ts), reconnected with backoff when it drops. fetch rather
// than EventSource: an EventSource cannot tell a 404 (no live tail on this
// server) or a 400 (a filter the server refuses, with its message) from a
// dropped connection, and retries them all forever.
import { currentProject } from '../api';

export type Conn =
  | { kind: 'connecting'; attempt: number }
  | { kind: 'live'; since: number }
  // status and message: an answer that says to come back later (429:
  // the server's --tail-max-clients), shown as it says it.
  | { kind: 'waiting'; until: number; attempt: number; why: string; status?: number; message?: string }
  | { kind: 'unavailable'; status: number }
  | { kind: 'refused'; status: number; message: string }
  | { kind: 'closed' };

export interface Handlers {
  // record: a message whose JSON has a dataset.
  record: (r: Record<string, unknown>) => void;
  // notice: any other message (the server says it samples, …).
  notice: (n: Record<string, unknown>, event: string) => void;
  state: (c: Conn) => void;
}

export interface Tail {
  close: () => void;
  retry: () => void;
}

// HTTPError is an answer that is retried: its status, the server's
// message and Retry-After (seconds, 0: none).
class HTTPError extends Error {
  constructor(
    public status: number,
    public detail: string,
    public retryAfter: number,
  ) {
    super(`HTTP ${status}: ${detail}`);
  }
}

const MAX_LINE = 1 << 20; // a line longer than 1 MiB ends the stream
const STEADY = 10_000; // a connection that lasted this long resets the backoff

// backoff is the wait before reconnection attempt n (from 0): 1 s
// doubling to 30 s, ±20 % so that clients do not come back together.
export function backoff(n: number, base = 1000, rand = Math.random): number {
  return Math.round(Math.min(30_000, base * 2 ** Math.min(n, 10)) * (0.8 + 0.4 * rand()));
}

// openTail connects to path?params and keeps connecting until closed;
// 404 and 501 (no tail here), 400 and 403 (refused) end it; a 429 (too
// many tails) is retried, after its Retry-After at the earliest.
export function openTail(path: string, params: URLSearchParams, h: Handlers): Tail {
  let closed = false;
  let ctrl: AbortController | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let attempt = 0;
  let base = 1000;
  const u = new URL(path, location.origin);
  u.search = params.toString();

  const connect = async () => {
    if (closed) return;
    clearTimeout(timer);
    ctrl?.abort();
    const mine = (ctrl = new AbortController());
    h.state({ kind: 'connecting', attempt });
    let opened = 0;
    try {
      const headers: Record<string, string> = { Accept: 'text/event-stream' };
      if (currentProject()) headers['X-Alidade-Project'] = String(currentProject());
      const r = await fetch(u, { headers, credentials: 'same-origin', cache: 'no-store', signal: mine.signal });
      if (r.status === 401) {
        location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
        return;
      }
      if (r.status === 404 || r.status === 501) {
        // A 404 of the route (no tail on this server), or of a project
        // that does not exist (the server names it).
        const e = await errorOf(r);
        if (e.code === 'no_project') h.state({ kind: 'refused', status: r.status, message: e.message });
        else h.state({ kind: 'unavailable', status: r.status });
        return;
      }
      if (r.status === 400 || r.status === 403) {
        h.state({ kind: 'refused', status: r.status, message: (await errorOf(r)).message });
        return;
      }
      if (!r.ok) {
        const e = await errorOf(r);
        if (e.code === 'tail_off') {
          // 503 from a server that runs without a hub.
          h.state({ kind: 'unavailable', status: r.status });
          return;
        }
        throw new HTTPError(r.status, e.message, Number(r.headers.get('Retry-After')) || 0);
      }
      if (!(r.headers.get('Content-Type') ?? '').startsWith('text/event-stream') || !r.body) {
        mine.abort();
        h.state({ kind: 'unavailable', status: r.status });
        return;
      }
      opened = Date.now();
      h.state({ kind: 'live', since: opened });
      await readEvents(r.body, (event, data, retry) => {
        if (retry !== null) base = Math.max(1000, Math.min(retry, 30_000));
        if (data === null) return;
        let v: unknown;
        try {
          v = JSON.parse(data);
        } catch {
          h.notice({ notice: data }, event);
          return;
        }
        if (v && typeof v === 'object' && !Array.isArray(v) && 'dataset' in v && event === 'message') h.record(v as Record<string, unknown>);
        else h.notice(v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : { notice: v }, event);
      });
      throw new Error('the server ended the stream');
    } catch (e) {
      if (closed || mine !== ctrl) return;
      if (opened && Date.now() - opened >= STEADY) attempt = 0;
      let wait = backoff(attempt, base);
      attempt++;
      if (e instanceof HTTPError && e.status === 429) {
        wait = Math.max(wait, Math.min(e.retryAfter, 60) * 1000);
        h.state({ kind: 'waiting', until: Date.now() + wait, attempt, why: 'the server refused the stream (429)', status: e.status, message: e.detail });
      } else {
        const why = e instanceof Error ? (e.name === 'TypeError' ? 'the connection failed (' + e.message + ')' : e.message) : String(e);
        h.state({ kind: 'waiting', until: Date.now() + wait, attempt, why });
      }
      timer = setTimeout(connect, wait);
    }
  };
  connect();
  return {
    close: () => {
      closed = true;
      clearTimeout(timer);
      ctrl?.abort();
    },
    retry: () => {
      attempt = 0;
      connect();
    },
  };
}

// errorOf reads an error answer ({"error": {"code", "message"}}).
async function errorOf(r: Response): Promise<{ code: string; message: string }> {
  const text = await r.text().catch(() => '');
  const plain = { code: '', message: text.slice(0, 300) || r.statusText };
  try {
    const e = JSON.parse(text)?.error;
    return e && typeof e.message === 'string' ? { code: String(e.code ?? ''), message: e.message } : plain;
  } catch {
    return plain;
  }
}

// readEvents parses an event stream (the HTML standard's rules: data
// lines joined by newlines, event names, comments, retry) and calls on
// for each event (data null: only a retry field).
export async function readEvents(body: ReadableStream<Uint8Array>, on: (event: string, data: string | null, retry: number | null) => void): Promise<void> {
  const reader = body.getReader();
  const dec = new TextDecoder();
  const p = eventParser(on);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return p(dec.decode());
    p(dec.decode(value, { stream: true }));
  }
}

// eventParser returns a function that takes the stream's text in chunks.
export function eventParser(on: (event: string, data: string | null, retry: number | null) => void): (chunk: string) => void {
  let buf = '';
  let data: string[] = [];
  let event = '';
  let retry: number | null = null;
  const line = (l: string) => {
    if (l === '') {
      if (data.length || retry !== null) on(event || 'message', data.length ? data.join('\n') : null, retry);
      data = [];
      event = '';
      retry = null;
      return;
    }
    if (l[0] === ':') return;
    const i = l.indexOf(':');
    const name = i < 0 ? l : l.slice(0, i);
    let v = i < 0 ? '' : l.slice(i + 1);
    if (v[0] === ' ') v = v.slice(1);
    if (name === 'data') data.push(v);
    else if (name === 'event') event = v;
    else if (name === 'retry' && /^\d+$/.test(v)) retry = Number(v);
  };
  return (chunk: string) => {
    buf += chunk;
    let start = 0;
    for (;;) {
      const n = buf.indexOf('\n', start);
      const r = buf.indexOf('\r', start);
      const end = n < 0 ? r : r < 0 ? n : Math.min(n, r);
      if (end < 0) break;
      let next = end + 1;
      if (buf[end] === '\r') {
        if (end + 1 === buf.length) break; // a \n may follow in the next chunk
        if (buf[end + 1] === '\n') next++;
      }
      line(buf.slice(start, end));
      start = next;
    }
    buf = buf.slice(start);
    if (buf.length > MAX_LINE) throw new Error('a line of the stream is longer than 1 MiB');
  };
}
