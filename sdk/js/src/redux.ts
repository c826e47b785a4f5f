// The Redux / RTK Query middleware: RTK Query requests become `api_call`
// events (api_calls) and dispatched actions `action` events (ui_actions).
import type { Middleware } from 'redux';
import { bare, endpointOf, ms, now, sinkOf } from './sink';
import type { Sink } from './types';

export interface ReduxOptions {
  /** Where events go (default: window.alidade). */
  client?: Sink;
  /** Record action durations (default true). */
  actions?: boolean;
  /** Record RTK Query requests (default true). */
  apiCalls?: boolean;
  /** Actions not to time (default: DEFAULT_IGNORE: Redux's and RTK Query's own). */
  ignore?: RegExp | ((type: string) => boolean);
  /** Time only actions that take at least this many ms (default 0: all). */
  minDuration?: number;
  /** Names an RTK Query request's endpoint (default: "GET /api/lessons/:id"
   * from fetchBaseQuery's request, else the RTK Query endpoint's name). */
  endpoint?: (info: { endpointName: string; method?: string; url?: string }) => string;
}

/** Redux's init actions and RTK Query's internal bookkeeping. */
export const DEFAULT_IGNORE = /^@@|^__rtkq\/|^[^/]+\/(config|internalSubscriptions|subscriptions|queries|mutations|executeQuery|executeMutation|invalidation)\//;

/**
 * A Redux middleware (works with configureStore and applyMiddleware):
 * - each RTK Query request (its executeQuery/executeMutation thunk) sends
 *   {type: "api_call", endpoint, method, rtkEndpoint, duration, status} when
 *   it settles: duration from RTK Query's own timestamps, status from
 *   fetchBaseQuery's response (0 for a network error);
 * - each other action sends {type: "action", action, duration}: the time
 *   the rest of the chain (reducers, later middleware) took to handle it.
 */
export function alidadeMiddleware(opts: ReduxOptions = {}): Middleware {
  const send = sinkOf(opts.client);
  const ignore = opts.ignore || DEFAULT_IGNORE;
  const skip = typeof ignore == 'function' ? ignore : (t: string) => ignore.test(t);
  const started = new Map<string, number>();
  return () => (next) => (action: any) => {
    const m = action && action.meta;
    if (m && m.requestId && m.requestStatus && m.arg && typeof m.arg.endpointName == 'string') {
      try {
        if (opts.apiCalls != false) rtkq(action, m);
      } catch {}
      return next(action);
    }
    const type = action && typeof action.type == 'string' ? action.type : '';
    if (!type || opts.actions == false || skip(type)) return next(action);
    const t0 = now();
    try {
      return next(action);
    } finally {
      try {
        const d = now() - t0;
        d >= (opts.minDuration || 0) && send({ type: 'action', action: type, duration: ms(d) });
      } catch {}
    }
  };

  function rtkq(action: any, m: any) {
    if (m.requestStatus == 'pending') {
      started.size > 1000 && started.clear();
      started.set(m.requestId, now());
      return;
    }
    const t0 = started.get(m.requestId);
    started.delete(m.requestId);
    if (m.condition) return; // skipped: the answer was cached
    const duration =
      m.fulfilledTimeStamp && m.startedTimeStamp ? m.fulfilledTimeStamp - m.startedTimeStamp : t0 != null ? ms(now() - t0) : undefined;
    if (duration == null) return;
    const req = m.baseQueryMeta && m.baseQueryMeta.request;
    const res = m.baseQueryMeta && m.baseQueryMeta.response;
    const p = action.payload;
    const status = res ? res.status : p && typeof p.status == 'number' ? p.status : p && typeof p.originalStatus == 'number' ? p.originalStatus : 0;
    const info = { endpointName: m.arg.endpointName as string, method: req && req.method, url: req && req.url };
    send({
      type: 'api_call',
      endpoint: opts.endpoint ? opts.endpoint(info) : req ? endpointOf(req.method, req.url) : info.endpointName,
      method: info.method,
      requestUrl: req ? bare(req.url) : undefined,
      rtkEndpoint: info.endpointName,
      duration,
      status: m.requestStatus == 'fulfilled' && !res ? 200 : status,
    });
  }
}
