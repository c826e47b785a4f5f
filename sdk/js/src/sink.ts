import type { BeaconEvent, Sink } from './types';

/**
 * The sink of a helper: the one it was given, else `window.alidade` at the
 * time of each event (so a helper made before the script tag ran still
 * sends through it). Without either, events are dropped.
 */
export const sinkOf = (client?: Sink) => (e: BeaconEvent) => {
  try {
    const s: Sink | undefined = client || (globalThis as any).alidade;
    s && s.send(e);
  } catch {}
};

export const now = () => (typeof performance != 'undefined' ? performance.now() : Date.now());

/** Milliseconds rounded to 0.01. */
export const ms = (v: number) => Math.round(v * 100) / 100;

const ID = /^(\d+|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{12,}|(?=[^/]*\d)[\w-]{16,})$/i;

/**
 * The endpoint name of a call: "GET /api/lessons/:id" — the method and the
 * path with ids (numbers, UUIDs, long hex or long tokens with digits)
 * replaced by ":id", the host prefixed when it is not the page's.
 */
export function endpointOf(method: string, url: string): string {
  try {
    const base = typeof location != 'undefined' ? location.href : undefined;
    const u = new URL(url, base);
    const path = u.pathname
      .split('/')
      .map((s) => (ID.test(s) ? ':id' : s))
      .join('/');
    const host = base && u.origin == new URL(base).origin ? '' : u.host;
    return method.toUpperCase() + ' ' + host + path;
  } catch {
    return method.toUpperCase() + ' ' + String(url).split(/[?#]/)[0];
  }
}

/** A URL without its query and fragment (which may hold secrets). */
export const bare = (url: string) => String(url).split(/[?#]/)[0];
