// Pieces the Frontend and Errors pages share: tabs, share bars, the
// rated Web Vitals bar, time buckets filled with zeros, durations, and the
// project's DSN for the snippets of empty states.
import { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { get } from '../api';
import { ms } from '../format';
import { parseIntervalSeconds } from './overview';
import { intervalFor, intervalOf, navigate, rangeParams, View } from '../state';
import { useData, useSession } from '../ui';

// Tabs switch between views of one panel; the chosen tab may live in the
// URL (param) or in the component.
export function Tabs({ tabs, label, children, param, view }: {
  tabs: { key: string; label: string }[];
  label: string;
  children: (key: string) => ComponentChildren;
  param?: string;
  view?: View;
}) {
  const [local, setLocal] = useState(tabs[0].key);
  const fromURL = param && view ? view.params.get(param) : null;
  const cur = tabs.some((t) => t.key === fromURL) ? fromURL! : param ? tabs[0].key : local;
  const choose = (k: string) => {
    if (param) {
      // replace: switching a tab is no new page in the history
      navigate(null, { [param]: k === tabs[0].key ? null : k }, true);
    } else setLocal(k);
  };
  const id = 'tab-' + label.replace(/\W+/g, '-').toLowerCase();
  return (
    <div class="fe-tabs">
      <div role="tablist" aria-label={label} class="fe-tablist">
        {tabs.map((t, i) => (
          <button
            type="button"
            role="tab"
            id={id + '-' + t.key}
            aria-selected={t.key === cur}
            aria-controls={id + '-panel'}
            tabIndex={t.key === cur ? 0 : -1}
            onClick={() => choose(t.key)}
            onKeyDown={(e) => {
              const d = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
              if (!d) return;
              e.preventDefault();
              const next = tabs[(i + d + tabs.length) % tabs.length];
              choose(next.key);
              const el = document.getElementById(id + '-' + next.key);
              el?.focus();
            }}
          >
            {t.label}
          </button>
        ))}
      </div>
      <div role="tabpanel" id={id + '-panel'} aria-labelledby={id + '-' + cur}>
        {children(cur)}
      </div>
    </div>
  );
}

// Share is a bar of part against whole, with the number beside it.
export function Share({ part, whole }: { part: number; whole: number }) {
  const p = whole > 0 ? (part / whole) * 100 : 0;
  return (
    <span class="fe-share" title={p.toFixed(1) + '%'}>
      <span class="fe-share-bar" aria-hidden="true">
        <span style={{ width: Math.min(100, p).toFixed(1) + '%' }} />
      </span>
      <span class="fe-share-num">{whole > 0 ? p.toFixed(p >= 10 ? 0 : 1) + '%' : '–'}</span>
    </span>
  );
}

// Rated is a Web Vital's shares of good, needs-improvement and poor
// samples as one stacked bar, said in words to screen readers.
export function Rated({ good, ni, poor }: { good: number | null; ni: number | null; poor: number | null }) {
  if (good === null && ni === null && poor === null) return <span class="meta">–</span>;
  const g = good ?? 0, n = ni ?? 0, p = poor ?? 0;
  const words = `good ${g.toFixed(0)}%, needs improvement ${n.toFixed(0)}%, poor ${p.toFixed(0)}%`;
  return (
    <span class="fe-rated">
      <span class="bars" role="img" aria-label={words} title={words}>
        <span class="good" style={{ width: g + '%' }} />
        <span class="ni" style={{ width: n + '%' }} />
        <span class="poor" style={{ width: p + '%' }} />
      </span>
      <span class="fe-rated-num" aria-hidden="true">
        <span class="fe-good">{g.toFixed(0)}</span>/<span class="fe-ni">{n.toFixed(0)}</span>/<span class="fe-poor">{p.toFixed(0)}</span>
      </span>
    </span>
  );
}

// The Web Vitals: what they are called and how a value reads.
export const VITALS: Record<string, { name: string; cls?: boolean }> = {
  LCP: { name: 'Largest Contentful Paint' },
  INP: { name: 'Interaction to Next Paint' },
  CLS: { name: 'Cumulative Layout Shift', cls: true },
  FCP: { name: 'First Contentful Paint' },
  TTFB: { name: 'Time to First Byte' },
  FID: { name: 'First Input Delay' },
};

export function vitalValue(metric: string, v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return VITALS[metric]?.cls ? v.toFixed(v < 1 ? 3 : 2) : ms(v);
}

// rating of a p75 by Google's thresholds: good up to the first, poor above
// the second.
export function rating(v: number | null | undefined, th: [number, number] | number[]): 'good' | 'ni' | 'poor' | '' {
  if (v === null || v === undefined || !th || th.length < 2) return '';
  return v <= th[0] ? 'good' : v <= th[1] ? 'ni' : 'poor';
}

export const RATING_WORDS = { good: 'good', ni: 'needs improvement', poor: 'poor', '': '' };

// dur reads milliseconds as "2m 35s", "1h 4m", "12s", "850 ms".
export function dur(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  if (v < 1000) return ms(v);
  const s = Math.round(v / 1000);
  if (s < 60) return s + 's';
  const m = Math.floor(s / 60);
  if (m < 60) return m + 'm ' + (s % 60) + 's';
  return Math.floor(m / 60) + 'h ' + (m % 60) + 'm';
}

// buckets are the aligned bucket starts (Unix seconds) of [from, to) at
// interval, as POST /api/v1/query makes them.
export function buckets(from: string, to: string, interval: string): number[] {
  const step = parseIntervalSeconds(interval);
  const a = Date.parse(from) / 1000, b = Date.parse(to) / 1000;
  if (!step || !Number.isFinite(a) || !Number.isFinite(b) || b <= a) return [];
  const out: number[] = [];
  for (let t = Math.floor(a / step) * step; t < b && out.length < 5000; t += step) out.push(t);
  return out;
}

// fill puts the rows' values on the buckets: 0 where a bucket has no row
// (the query API leaves out buckets without points).
export function fill<R extends { t: string }>(ts: number[], rows: R[], value: (r: R) => number | null): number[] {
  const at = new Map<number, number>();
  for (const r of rows) at.set(Date.parse(r.t) / 1000, (at.get(Date.parse(r.t) / 1000) ?? 0) + (value(r) ?? 0));
  return ts.map((t) => at.get(t) ?? 0);
}

export { intervalOf };

// queryRange is the view's range as POST /api/v1/query takes it.
export function queryRange(v: View): string | { from: string; to: string } {
  const r = rangeParams(v);
  return r.from && r.to ? { from: r.from, to: r.to } : r.range;
}

export interface QueryAnswer<R> {
  rows: R[];
  meta: { from: string; to: string; elapsedMs: number; source?: string };
}

// useProjectInfo reads GET /api/v1/projects/{id} (its dsn) for an admin or
// root session; a read session may not, and gets null.
export function useProjectInfo(view: View): { dsn: string | null; id: number } {
  const s = useSession();
  const id = s.root ? view.project : s.project?.id ?? 0;
  const can = s.kind !== 'read' && id > 0;
  const { data } = useData(
    () => (can ? get<{ dsn: string | null }>('/api/v1/projects/' + id).catch(() => null) : Promise.resolve(null)),
    [id, can],
  );
  return { dsn: data?.dsn ?? null, id };
}

// publicKeyOf is the public key a DSN carries (scheme://KEY@host/id).
export function publicKeyOf(dsn: string | null): string | null {
  if (!dsn) return null;
  try {
    return decodeURIComponent(new URL(dsn).username) || null;
  } catch {
    return null;
  }
}

// dsnOr is the project's DSN, else one with a placeholder key.
export function dsnOr(dsn: string | null, id: number): string {
  return dsn ?? `${location.protocol}//ald_public_…@${location.host}/${id || 1}`;
}
