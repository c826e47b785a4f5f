// The fetch wrapper: every call becomes an `api_call` event (api_calls).
import { bare, endpointOf, ms, now, sinkOf } from './sink';
import type { Sink } from './types';

export interface FetchOptions {
  /** Where events go (default: window.alidade). */
  client?: Sink;
  /** Names a call's endpoint (default: endpointOf: "GET /api/lessons/:id"). */
  endpoint?: (method: string, url: string) => string;
  /** Calls not to record; Alidade's own /api/v1/events never is. */
  ignore?: (method: string, url: string) => boolean;
}

/**
 * Returns fetch (default: the global one) wrapped so that each call sends
 * {type: "api_call", endpoint, method, requestUrl, duration, status}: duration
 * to the response's headers in ms, status 0 when the call failed.
 */
export function wrapFetch(f: typeof fetch = globalThis.fetch, opts: FetchOptions = {}): typeof fetch {
  const send = sinkOf(opts.client);
  return function (this: unknown, input: RequestInfo | URL, init?: RequestInit) {
    let method = 'GET';
    let url = '';
    try {
      const req = typeof Request != 'undefined' && input instanceof Request ? input : undefined;
      method = ((init && init.method) || (req && req.method) || 'GET').toUpperCase();
      url = req ? req.url : String(input);
    } catch {}
    const t0 = now();
    const p = f.call(globalThis, input, init);
    try {
      if (/\/api\/v1\/events$/.test(bare(url)) || (opts.ignore && opts.ignore(method, url))) return p;
      const rec = (status: number) => {
        try {
          send({
            type: 'api_call',
            endpoint: opts.endpoint ? opts.endpoint(method, url) : endpointOf(method, url),
            method,
            requestUrl: bare(absolute(url)),
            duration: ms(now() - t0),
            status,
          });
        } catch {}
      };
      p.then(
        (r) => rec(r.status),
        () => rec(0),
      );
    } catch {}
    return p;
  } as typeof fetch;
}

/** Replaces the global fetch with wrapFetch's; returns a function that puts it back. */
export function instrumentFetch(opts: FetchOptions = {}): () => void {
  const g = globalThis as any;
  const orig = g.fetch;
  g.fetch = wrapFetch(orig, opts);
  return () => {
    g.fetch = orig;
  };
}

/** url resolved against the page's (as RTK Query and the server see it). */
const absolute = (url: string) => {
  try {
    return typeof location != 'undefined' ? new URL(url, location.href).href : url;
  } catch {
    return url;
  }
};
