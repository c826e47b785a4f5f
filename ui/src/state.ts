// The view's state lives in the URL (page path, range, project, live), so
// a view can be shared and the back button works.
import { useEffect, useState } from 'preact/hooks';

export const RANGES = ['15m', '1h', '6h', '24h', '7d', '30d', '90d'] as const;

export interface View {
  path: string; // "/", "/backend", "/errors/12", …
  range: string; // one of RANGES, or "custom"
  from: string; // custom range (datetime-local values, UTC)
  to: string;
  project: number; // a root session's project (0: none)
  live: boolean;
  params: URLSearchParams; // everything else (page filters)
}

export function readView(): View {
  const q = new URLSearchParams(location.search);
  const range = q.get('range') ?? '24h';
  return {
    path: location.pathname,
    range: range === 'custom' || (RANGES as readonly string[]).includes(range) ? range : '24h',
    from: q.get('from') ?? '',
    to: q.get('to') ?? '',
    project: Number(q.get('project') ?? 0) || 0,
    live: q.get('live') !== '0',
    params: q,
  };
}

const listeners = new Set<() => void>();

// navigate changes the URL (a new history entry unless replace) and every
// useView re-renders.
export function navigate(path: string | null, set: Record<string, string | number | null> = {}, replace = false) {
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(set)) {
    if (v === null || v === '') q.delete(k);
    else q.set(k, String(v));
  }
  const s = q.toString();
  const url = (path ?? location.pathname) + (s ? '?' + s : '');
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  listeners.forEach((f) => f());
}

addEventListener('popstate', () => listeners.forEach((f) => f()));

export function useView(): View {
  const [v, setV] = useState(readView);
  useEffect(() => {
    const f = () => setV(readView());
    listeners.add(f);
    return () => {
      listeners.delete(f);
    };
  }, []);
  return v;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const RANGE_MS: Record<string, number> = { '15m': 15 * MINUTE, '1h': HOUR, '6h': 6 * HOUR, '24h': 24 * HOUR, '7d': 168 * HOUR, '30d': 720 * HOUR, '90d': 2160 * HOUR };

// rangeParams are the query parameters of the APIs for the view's range.
// A relative range ends at the end of the current minute (15m, 1h) or hour
// (longer ranges): its edges, and those of the period before it, then
// fall on whole minutes or hours, which the server answers from rollups
// in milliseconds; the window holds everything up to now (nothing comes
// later), and the page says which it is.
export function rangeParams(v: View, now = Date.now()): Record<string, string> {
  if (v.range === 'custom' && v.from && v.to) {
    return { from: new Date(v.from + 'Z').toISOString(), to: new Date(v.to + 'Z').toISOString() };
  }
  const d = RANGE_MS[v.range] ?? RANGE_MS['24h'];
  const step = d <= HOUR ? MINUTE : HOUR;
  const to = Math.floor(now / step) * step + step;
  return { from: new Date(to - d).toISOString(), to: new Date(to).toISOString() };
}

// interval is a bucket size that gives ~60–120 points over the range.
export function intervalFor(range: string): string {
  switch (range) {
    case '15m':
      return '1m';
    case '1h':
      return '1m';
    case '6h':
      return '5m';
    case '24h':
      return '15m';
    case '7d':
      return '2h';
    case '30d':
      return '6h';
    case '90d':
      return '1d';
  }
  return '1h';
}

// intervalOf is the view's bucket size: at most ~150 buckets over its range.
export function intervalOf(v: View): string {
  const r = rangeParams(v);
  const span = (Date.parse(r.to) - Date.parse(r.from)) / 1000;
  const ladder: [string, number][] = [['1m', 60], ['5m', 300], ['15m', 900], ['30m', 1800], ['1h', 3600], ['2h', 7200], ['6h', 21600], ['12h', 43200], ['1d', 86400], ['7d', 604800]];
  if (!(span > 0)) return intervalFor(v.range);
  return ladder.find(([, s]) => span / s <= 150)?.[0] ?? '30d';
}
