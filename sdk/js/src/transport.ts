import type { BeaconEvent } from './types';

/** Events queued at most; past it the oldest are dropped. */
export const MAX_QUEUE = 200;
/** Events in one request at most. */
export const MAX_BATCH = 50;
/** Characters of one body at most (≤ 60 KB of UTF-8: under the 64 KB that
 * sendBeacon and keepalive fetches may have in flight). */
export const MAX_CHARS = 20000;
/** How long an event waits for others before it is sent. */
export const DELAY = 2000;
/** Failed attempts of a batch before it is dropped. */
export const TRIES = 5;

export interface Transport {
  push(e: BeaconEvent): void;
  /** Sends the queue; with beacon, all of it at once through sendBeacon. */
  flush(beacon?: boolean): void;
}

/**
 * A batching sender: one fetch (keepalive, text/plain, so no CORS
 * preflight) in flight at a time, retried with exponential backoff on
 * network errors, 429 and 5xx; sendBeacon when the page is hidden.
 */
export function transport(endpoint: string, key: string, log: (...a: unknown[]) => void): Transport {
  const q: BeaconEvent[] = [];
  const f = fetch;
  const nav = navigator;
  let timer: any = 0;
  let busy = 0;
  let fails = 0;
  let soon = 0;

  const later = (ms: number) => {
    timer = timer || setTimeout(() => flush(), ms);
  };

  const retry = (batch: BeaconEvent[]) => {
    if (++fails > TRIES) {
      fails = 0;
      log('dropped', batch);
      q.length && later(DELAY);
    } else {
      q.unshift(...batch);
      q.length > MAX_QUEUE && q.splice(MAX_QUEUE);
      clearTimeout(timer);
      timer = 0;
      later(Math.min(1000 * 2 ** fails, 60000) * (0.5 + Math.random() / 2));
    }
  };

  const flush = (beacon?: boolean) => {
    clearTimeout(timer);
    timer = 0;
    try {
      while (q.length && (beacon || !busy)) {
        let n = Math.min(q.length, MAX_BATCH);
        let body = '';
        while (n && (body = JSON.stringify({ key, sentAt: Date.now(), events: q.slice(0, n) })).length > MAX_CHARS) n >>= 1;
        if (!n) {
          log('dropped', q.shift());
          continue;
        }
        const batch = q.splice(0, n);
        if (beacon && nav.sendBeacon && nav.sendBeacon(endpoint, body)) continue;
        busy = 1;
        f(endpoint, { method: 'POST', body, keepalive: true, credentials: 'omit' })
          .then((r) => {
            busy = 0;
            if (r.status == 429 || r.status > 499) throw 0;
            fails = 0;
            // With data-debug, the server's answer: its rejections and errors.
            r.json().then(log, log);
            q.length && later(0);
          })
          .catch(() => {
            busy = 0;
            retry(batch);
          });
      }
    } catch (e) {
      busy = 0;
      log(e);
    }
  };

  return {
    push(e) {
      JSON.stringify(e); // throws (into the caller's catch) for what cannot be sent
      q.push(e) > MAX_QUEUE && q.shift();
      if (document.visibilityState == 'hidden') {
        // Send at once, but after the other listeners of this event
        // (web-vitals reports several metrics when the page is hidden).
        soon || (soon = 1) && Promise.resolve().then(() => { soon = 0; flush(true); });
      } else if (q.length >= MAX_BATCH && !fails) {
        flush();
      } else {
        later(DELAY);
      }
    },
    flush,
  };
}
