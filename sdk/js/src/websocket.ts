// The WebSocket wrapper: connects, disconnects with their close codes,
// reconnects, errors and session length become `websocket` events.
import { bare, ms, now, sinkOf } from './sink';
import type { Sink } from './types';

export interface WebSocketOptions {
  /** Where events go (default: window.alidade). */
  client?: Sink;
  /** The channel's name, e.g. "chat" (default: the URL's path). */
  channel?: string;
}

/** What trackWebSocket needs of a socket: the browser's or the `ws` package's. */
export interface SocketLike {
  url: string;
  readyState: number;
  send(data: any): void;
  addEventListener(type: string, listener: (e: any) => void): void;
}

const opens: Record<string, number> = {};

/**
 * Instruments a socket (and returns it). Each sends {type: "websocket",
 * kind, channel, …}:
 * - open; a reconnect (the channel opened before in this page) is an open
 *   with attempt: n (1 for the first reconnect) and reconnect: true;
 * - close: code, reason, wasClean, duration (ms since open; 0 when it never
 *   opened), messagesIn, messagesOut; also when the page is hidden for good
 *   (pagehide) while the socket is open, with code 1001;
 * - error: error (the message when the implementation gives one).
 */
export function trackWebSocket<T extends SocketLike>(ws: T, opts: WebSocketOptions = {}): T {
  try {
    const send = sinkOf(opts.client);
    const channel = opts.channel || pathOf(ws.url);
    let t0 = 0;
    let nIn = 0;
    let nOut = 0;
    let closed = false;
    const emit = (kind: string, extra?: Record<string, unknown>) => send({ type: 'websocket', kind, channel, ...extra });
    const close = (code: number, reason: string, wasClean: boolean) => {
      if (closed) return;
      closed = true;
      emit('close', { code, reason: reason ? reason.slice(0, 120) : undefined, wasClean, duration: t0 ? ms(now() - t0) : 0, messagesIn: nIn, messagesOut: nOut });
    };
    const orig = ws.send;
    ws.send = function (this: unknown, data: any) {
      const r = orig.call(this, data);
      nOut++;
      return r;
    };
    ws.addEventListener('open', () => {
      t0 = now();
      const n = (opens[channel] = (opens[channel] || 0) + 1);
      emit('open', n > 1 ? { attempt: n - 1, reconnect: true } : undefined);
    });
    ws.addEventListener('message', () => {
      nIn++;
    });
    ws.addEventListener('error', (e: any) => emit('error', { error: String((e && (e.message || (e.error && e.error.message))) || 'WebSocket error').slice(0, 200) }));
    ws.addEventListener('close', (e: any) => close(e.code, e.reason, e.wasClean));
    typeof addEventListener == 'function' &&
      addEventListener('pagehide', (e: any) => !e.persisted && t0 && ws.readyState == 1 && close(1001, 'page hidden', true));
  } catch {}
  return ws;
}

/**
 * Returns a WebSocket class (default: the global one) whose sockets are
 * instrumented: `const WS = wrapWebSocket(WebSocket, {channel: "chat"}); new WS(url)`.
 */
export function wrapWebSocket<C extends new (...a: any[]) => SocketLike>(Base: C = (globalThis as any).WebSocket, opts: WebSocketOptions = {}): C {
  return class extends Base {
    constructor(...a: any[]) {
      super(...a);
      trackWebSocket(this, opts);
    }
  };
}

function pathOf(url: string) {
  try {
    return new URL(url).pathname;
  } catch {
    return bare(url);
  }
}
