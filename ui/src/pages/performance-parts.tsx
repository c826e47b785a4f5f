// What the Performance pages share: the per-page report (GET
// /api/v1/insights) and the checks (GET /api/v1/checks…) as the API answers
// them, a vital's value coloured by its rating (Google's colours), the
// change arrow, the check's state badge, links that keep the view, and the
// folding of a URL into its page (/lessons/7 is /lessons/:id).
import { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get } from '../api';
import { ms } from '../format';
import { navigate, rangeParams, View } from '../state';
import { useData } from '../ui';
import { pollMs, usePoll } from './alerts-parts';
import { vitalValue, VITALS } from './frontend-parts';

export const METRICS = ['LCP', 'INP', 'CLS', 'FCP', 'TTFB'] as const;
export type Metric = (typeof METRICS)[number];

// Google's thresholds: good up to the first, poor above the second.
export const THRESHOLDS: Record<Metric, [number, number]> = {
  LCP: [2500, 4000],
  INP: [200, 500],
  CLS: [0.1, 0.25],
  FCP: [1800, 3000],
  TTFB: [800, 1800],
};

export interface PVital {
  p75: number | null;
  rating: 'good' | 'needs-improvement' | 'poor' | '';
  good: number | null;
  needsImprovement: number | null;
  poor: number | null;
  change: number | null;
  samples: number;
}

export interface PElement {
  element: string;
  share: number;
  p75?: number | null;
  samples: number;
}

export interface Evidence {
  kind: string;
  [k: string]: unknown;
}

export interface PerfPage {
  page: string;
  views: number;
  vitals: Partial<Record<Metric, PVital | null>>;
  lcpElements: PElement[];
  inpTargets: PElement[];
  errors: number;
  errorRate: number | null;
  slowestApiCalls: { endpoint: string; p75: number | null; calls: number }[];
  lab: { check: string; runId: string; at: string; score: number } | null;
  recommendations: { text: string; evidence: Evidence }[];
  impact: number;
  excess: number;
}

export interface Insights {
  pages: PerfPage[];
  meta: { from: string; to: string; previousFrom: string; previousTo: string; top: number; source: string; impact: string; apiCalls: string; elapsedMs: number; warnings?: string[] };
}

export function loadInsights(v: View): Promise<Insights> {
  return get<Insights>('/api/v1/insights', { ...rangeParams(v), top: 100 });
}

export interface Expect {
  status?: number[];
  contains?: string;
  maxMs?: number;
}

export interface Run {
  id: number;
  type: 'http' | 'page' | string;
  at: string;
  ok: boolean;
  error: string;
  unavailable?: boolean;
  status?: number;
  sizeBytes?: number;
  timings?: { dns: number; connect: number; tls?: number; ttfb: number; total: number };
  certExpiresInDays?: number;
  device?: string;
  score?: number | null;
  metrics?: { lcp: number; cls: number; fcp: number; tbt: number; si: number; ttfb: number } | null;
  recommendations?: { audit: string; title: string; savingsMs: number; savingsBytes: number }[] | null;
  hasReport?: boolean;
  durationMs?: number;
}

export interface Check {
  id: number;
  name: string;
  type: 'http' | 'page' | string;
  url: string;
  every: string;
  state: 'up' | 'down' | 'pending' | 'unavailable' | string;
  lastRun: Run | null;
  timeout: string;
  method?: string;
  expect?: Expect;
  insecure?: boolean;
  device?: string;
  unavailable?: string;
  consecutiveFailures: number;
  nextRun: string;
  created: string;
  updated: string;
}

export const ratingClass = (r: string | undefined) => (r === 'good' ? 'good' : r === 'needs-improvement' ? 'ni' : r === 'poor' ? 'poor' : '');
export const RATING_TEXT: Record<string, string> = { good: 'good', 'needs-improvement': 'needs improvement', poor: 'poor' };

// VitalCell is a p75 in its rating's colour, with the change on the
// period before as an arrow (every one of the five is worse when higher).
export function VitalCell({ metric, v }: { metric: Metric; v: PVital | null | undefined }) {
  if (!v || v.p75 === null) return <span class="meta">–</span>;
  return (
    <span class="pf-vital" data-metric={metric}>
      <span class={'pf-v pf-' + ratingClass(v.rating)} data-rating={v.rating} title={`${metric} p75 ${vitalValue(metric, v.p75)}: ${RATING_TEXT[v.rating] ?? ''} (${v.samples} samples)`}>
        {vitalValue(metric, v.p75)}
        <span class="sr-only"> ({RATING_TEXT[v.rating] ?? ''})</span>
      </span>
      <Arrow change={v.change} />
    </span>
  );
}

// Arrow is a change (0.2 = 20 % higher, worse) as ▲ / ▼ and its size.
export function Arrow({ change }: { change: number | null | undefined }) {
  if (change === null || change === undefined || !Number.isFinite(change)) return null;
  const p = change * 100;
  const dir = Math.abs(p) < 1 ? 0 : Math.sign(p);
  const text = (dir > 0 ? '▲' : dir < 0 ? '▼' : '→') + ' ' + Math.abs(p).toFixed(Math.abs(p) < 10 ? 1 : 0) + '%';
  return (
    <span class={'pf-arrow' + (dir > 0 ? ' bad' : dir < 0 ? ' good' : '')} title={`${p >= 0 ? '+' : ''}${p.toFixed(1)}% on the period before (higher is worse)`} data-change={change}>
      {text}
    </span>
  );
}

// Shares of the samples by rating (0–1), as a stacked bar.
export function RatedBar({ v }: { v: PVital }) {
  const g = (v.good ?? 0) * 100, n = (v.needsImprovement ?? 0) * 100, p = (v.poor ?? 0) * 100;
  const words = `good ${g.toFixed(0)}%, needs improvement ${n.toFixed(0)}%, poor ${p.toFixed(0)}%`;
  return (
    <span class="pf-bars" role="img" aria-label={words} title={words}>
      <span class="pf-good" style={{ width: g + '%' }} />
      <span class="pf-ni" style={{ width: n + '%' }} />
      <span class="pf-poor" style={{ width: p + '%' }} />
    </span>
  );
}

export function CheckState({ c }: { c: Check }) {
  return (
    <span class={'badge pf-state pf-st-' + c.state} data-state={c.state} title={c.unavailable || ''}>
      {c.state}
    </span>
  );
}

// runSummary says what a run found: "200 · 12 ms", "score 84", or its error.
export function runSummary(r: Run | null): string {
  if (!r) return 'not run yet';
  if (r.unavailable) return 'could not run (no Lighthouse here)';
  if (r.type === 'page') return r.ok ? `score ${r.score ?? '–'}${r.metrics ? ' · LCP ' + ms(r.metrics.lcp) : ''}` : r.error;
  const t = r.timings ? ms(r.timings.total) : '–';
  return r.ok ? `${r.status} · ${t}` : `${r.error}${r.timings?.total ? ' · ' + t : ''}`;
}

export const reportURL = (check: number, run: number) => `/api/v1/checks/${check}/runs/${run}/report`;

// PerfLink goes to a Performance page, keeping the view's range and
// project and dropping another page's parameters.
export function PerfLink({ href, set = {}, children, testid, cls, title }: { href: string; set?: Record<string, string | null>; children: ComponentChildren; testid?: string; cls?: string; title?: string }) {
  const all: Record<string, string | null> = { edit: null, route: null, vital: null, ...set };
  const q = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(all)) {
    if (v === null) q.delete(k);
    else q.set(k, v);
  }
  const s = q.toString();
  return (
    <a
      href={href + (s ? '?' + s : '')}
      class={cls}
      title={title}
      data-testid={testid}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(href, all);
      }}
    >
      {children}
    </a>
  );
}

// foldPath folds a URL's path as the server folds pages: a segment that
// is all digits, a UUID, 12 hex digits or more, or 16 characters or more
// of letters, digits, _ and - with a digit among them is :id.
export function foldPath(url: string): string {
  let path = url;
  try {
    path = new URL(url).pathname;
  } catch {
    /* a path already */
  }
  return path
    .split('/')
    .map((s) =>
      /^\d+$/.test(s) ||
      /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s) ||
      /^[0-9a-f]{12,}$/i.test(s) ||
      (s.length >= 16 && /^[\w-]+$/.test(s) && /\d/.test(s))
        ? ':id'
        : s,
    )
    .join('/');
}

// The lab metric that stands beside a field metric (INP has none: a lab
// run has no interaction).
export const LAB_OF: Partial<Record<Metric, 'lcp' | 'cls' | 'fcp' | 'ttfb'>> = { LCP: 'lcp', CLS: 'cls', FCP: 'fcp', TTFB: 'ttfb' };

export const metricName = (m: string) => VITALS[m]?.name ?? m;

// useChecks reads the checks (GET /api/v1/checks) as often as the fastest
// of them runs (2 s to 15 s); poll counts the reads.
export function useChecks(view: View, changed = 0) {
  const [every, setEvery] = useState(15_000);
  const poll = usePoll(every, view.live);
  const list = useData(() => get<{ checks: Check[] }>('/api/v1/checks'), [view.project, poll, changed]);
  const checks = list.data?.checks ?? null;
  useEffect(() => setEvery(pollMs(checks?.map((c) => c.every) ?? [])), [checks]);
  return { list, checks, poll };
}


// History is the latest runs, oldest first: green up, red down, grey
// when the run could not run.
export function History({ runs }: { runs: Run[] }) {
  if (!runs.length) return <span class="meta">–</span>;
  const rs = [...runs].reverse();
  return (
    <span class="pf-history" role="img" aria-label={`${runs.filter((r) => r.ok).length} of the latest ${runs.length} runs ok`}>
      {rs.map((r) => (
        <span class={r.unavailable ? 'na' : r.ok ? 'ok' : 'fail'} title={`${new Date(r.at).toISOString().slice(0, 19).replace('T', ' ')} UTC: ${runSummary(r)}`} />
      ))}
    </span>
  );
}
