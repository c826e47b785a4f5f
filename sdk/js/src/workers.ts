// Workers Analytics Engine's binding for Cloudflare Workers and Node:
//   env.ANALYTICS = analyticsEngineDataset({url, key, dataset: "requests"})
// makes `env.ANALYTICS.writeDataPoint({blobs, doubles, indexes})` write to
// Alidade's POST /api/v1/points.

/** An Analytics Engine data point, as the binding takes it. */
export interface AnalyticsEngineDataPoint {
  indexes?: ((ArrayBuffer | string) | null)[];
  doubles?: number[];
  blobs?: ((ArrayBuffer | string) | null)[];
}

/** What Workers' ExecutionContext offers that the binding uses. */
export interface WaitUntil {
  waitUntil(promise: Promise<unknown>): void;
}

export interface DatasetOptions {
  /** Alidade's base URL, e.g. "https://alidade.example.com". */
  url: string;
  /** A write key (ald_write_…); also used by query() unless readKey is given. */
  key: string;
  /** The dataset points go to, e.g. "requests". */
  dataset: string;
  /** A read key for query(). */
  readKey?: string;
  /** The request's ExecutionContext: each batch is flushed inside ctx.waitUntil. */
  ctx?: WaitUntil;
  /**
   * Index values whose points go to another dataset, so one binding can
   * carry the seed's three kinds of points. Default SEED_ROUTES:
   * {ai_model: "ai_usage", search_type: "vector_search"}; {} turns it off.
   * query() applies the same routes to aggregations filtered on an index.
   */
  routes?: Record<string, string>;
  /** Points in one request at most (default 1000). */
  batchSize?: number;
  /** Without ctx: how long a point waits for others, ms (default 1000). */
  flushInterval?: number;
  /** Points buffered at most; past it new ones are dropped, and said so once (default 10000). */
  maxBuffer?: number;
  /** Attempts of a batch on network errors, 429 and 5xx (default 4). */
  tries?: number;
  /** The first retry's delay in ms, doubled on each next one, at most 10 s; Retry-After wins (default 250). */
  retryDelay?: number;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** The seed's WorkerAnalytics writes AI usage and vector searches through the same binding. */
export const SEED_ROUTES: Readonly<Record<string, string>> = { ai_model: 'ai_usage', search_type: 'vector_search' };

export interface AlidadeDataset {
  /** Analytics Engine's binding method: buffers the point, never throws. */
  writeDataPoint(point?: AnalyticsEngineDataPoint): void;
  /** Sends every buffered point; resolves when they are answered (or given up). */
  flush(): Promise<void>;
  /**
   * POST /api/v1/query, e.g. the seed's {timeRange, aggregations}, on this
   * dataset unless the query names another. Resolves to the first row's
   * fields (the answer of a query without groupBy or interval) together
   * with `rows` and `meta`; rejects with the server's message on an error.
   */
  query(q: Record<string, any>): Promise<Record<string, any>>;
}

type Point = { dataset: string; timestamp: number; indexes?: string[]; blobs?: string[]; doubles?: number[] };

const warned = new Set<string>();
const warnOnce = (msg: string) => {
  if (!warned.has(msg)) {
    warned.add(msg);
    console.warn('alidade: ' + msg);
  }
};

const text = (v: unknown) => (v == null ? '' : v instanceof ArrayBuffer || ArrayBuffer.isView(v) ? new TextDecoder().decode(v as ArrayBuffer) : String(v));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A Workers Analytics Engine dataset binding backed by Alidade. */
export function analyticsEngineDataset(opts: DatasetOptions): AlidadeDataset {
  const base = String(opts.url).replace(/\/+$/, '');
  const routes = opts.routes || SEED_ROUTES;
  const batchSize = opts.batchSize || 1000;
  const maxBuffer = opts.maxBuffer || 10000;
  const tries = opts.tries || 4;
  const doFetch = opts.fetch || ((...a: Parameters<typeof fetch>) => fetch(...a));
  let buf: Point[] = [];
  let timer: any;
  let scheduled = false;
  const inflight = new Set<Promise<void>>();
  let exitHook = false;

  const post = (path: string, key: string, body: string, headers: Record<string, string> = {}) =>
    doFetch(base + path, { method: 'POST', body, headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json', ...headers } });

  async function send(points: Point[]) {
    const body = JSON.stringify(points);
    const idem = typeof crypto != 'undefined' && crypto.randomUUID ? { 'Idempotency-Key': crypto.randomUUID() } : undefined;
    for (let i = 1; ; i++) {
      let status = 0;
      let answer: any;
      let wait = 0;
      try {
        const r = await post('/api/v1/points', opts.key, body, idem);
        status = r.status;
        wait = Number(r.headers.get('Retry-After')) * 1000 || 0;
        answer = await r.json().catch(() => undefined);
      } catch (e) {
        answer = { error: { message: String(e) } };
      }
      // 409: a cluster node answers it while another node writes the batch's
      // Idempotency-Key; retried with the key, it gets that write's answer.
      if (status && status != 429 && status != 409 && status < 500) {
        for (const rj of (answer && answer.rejected) || []) {
          const p = points[rj.position];
          warnOnce(`the server rejected a point of dataset "${p ? p.dataset : opts.dataset}": ${rj.error}`);
        }
        if (status >= 400 && !(answer && answer.rejected && answer.rejected.length)) {
          warnOnce(`the server refused ${points.length} points (${status}): ${(answer && answer.error && answer.error.message) || 'no message'}`);
        }
        return;
      }
      if (i >= tries) {
        warnOnce(`gave up sending points after ${tries} tries (last: ${status || (answer && answer.error && answer.error.message)})`);
        return;
      }
      await sleep(Math.min(wait || (opts.retryDelay ?? 250) * 2 ** (i - 1), 10000));
    }
  }

  function flushNow(): Promise<void> {
    clearTimeout(timer);
    timer = undefined;
    scheduled = false;
    const all: Promise<void>[] = [...inflight];
    while (buf.length) {
      const p = send(buf.splice(0, batchSize)).catch(() => {});
      inflight.add(p);
      p.then(() => inflight.delete(p));
      all.push(p);
    }
    return Promise.all(all).then(() => {});
  }

  function schedule() {
    if (buf.length >= batchSize) {
      const p = flushNow();
      opts.ctx && opts.ctx.waitUntil(p);
      return;
    }
    if (scheduled) return;
    scheduled = true;
    if (opts.ctx) {
      // Flush after the writes of this turn, inside the request's lifetime.
      opts.ctx.waitUntil(sleep(0).then(flushNow));
      return;
    }
    timer = setTimeout(flushNow, opts.flushInterval ?? 1000);
    timer && timer.unref && timer.unref();
    const proc = (globalThis as any).process;
    if (!exitHook && proc && proc.once) {
      // Node: send what is left when nothing else keeps the process alive.
      exitHook = true;
      proc.once('beforeExit', () => {
        exitHook = false;
        buf.length && flushNow();
      });
    }
  }

  return {
    writeDataPoint(point?: AnalyticsEngineDataPoint) {
      try {
        if (buf.length >= maxBuffer) {
          warnOnce(`dropping points: ${maxBuffer} are waiting to be sent (is ${base} reachable?)`);
          return;
        }
        const p: Point = { dataset: opts.dataset, timestamp: Date.now() };
        if (point && point.indexes && point.indexes.length) {
          p.indexes = point.indexes.map(text);
          const to = Object.prototype.hasOwnProperty.call(routes, p.indexes[0]) && routes[p.indexes[0]];
          to && (p.dataset = to);
        }
        if (point && point.blobs && point.blobs.length) p.blobs = point.blobs.map(text);
        if (point && point.doubles && point.doubles.length) p.doubles = point.doubles.map(Number);
        buf.push(p);
        schedule();
      } catch (e) {
        warnOnce('writeDataPoint: ' + e);
      }
    },
    flush: flushNow,
    async query(q) {
      const body: Record<string, any> = { dataset: opts.dataset, ...q };
      const aggs = body.aggregations;
      if (aggs && typeof aggs == 'object') {
        body.aggregations = {};
        for (const name of Object.keys(aggs)) {
          const a = aggs[name];
          const idx = a && !a.dataset && indexOf(a.filter);
          const to = idx != null && Object.prototype.hasOwnProperty.call(routes, idx) ? routes[idx] : undefined;
          body.aggregations[name] = to && to != body.dataset ? { ...a, dataset: to } : a;
        }
      }
      const r = await post('/api/v1/query', opts.readKey || opts.key, JSON.stringify(body));
      const answer: any = await r.json().catch(() => undefined);
      if (!r.ok) {
        throw new Error(`alidade query: ${r.status}: ${(answer && answer.error && answer.error.message) || 'no message'}`);
      }
      const rows: any[] = (answer && answer.rows) || [];
      const first = !body.groupBy && !body.interval ? rows[0] || zeros(body.aggregations) : {};
      return { ...first, rows, meta: answer && answer.meta };
    },
  };
}

/** The value of a filter of the seed's form {index: "ai_model"} (or a list holding one). */
function indexOf(filter: any): string | undefined {
  const fs = Array.isArray(filter) ? filter : filter ? [filter] : [];
  for (const f of fs) if (f && typeof f.index == 'string') return f.index;
  return undefined;
}

/** The answer of aggregations over no point: counts and sums 0, the rest null. */
function zeros(aggs: Record<string, any> | undefined) {
  const out: Record<string, number | null> = {};
  for (const name of Object.keys(aggs || {})) {
    const t = aggs![name] && aggs![name].type;
    out[name] = t == 'count' || t == 'sum' || t == 'percentage' ? 0 : null;
  }
  return out;
}
