import { onCLS, onFCP, onINP, onLCP, onTTFB, type MetricType } from 'web-vitals';
import type { BeaconEvent } from './types';

/**
 * A short CSS selector of an element: the element itself when it has an id
 * or a class ("img.hero", "#buy"), else prefixed by ancestors until one has
 * ("div.card>p"), below body, at most 4 levels and 100 characters.
 */
export const selector = (n: any): string | undefined => {
  let s = '';
  for (let i = 0; n && n.nodeType == 1 && n.nodeName != 'BODY' && i < 4; i++, n = n.parentNode) {
    const c = n.classList || [];
    const p = n.id ? '#' + n.id : n.nodeName.toLowerCase() + (c[0] ? '.' + c[0] : '') + (c[1] ? '.' + c[1] : '');
    s = s ? p + '>' + s : p;
    if (n.id || c[0]) break;
  }
  return s.slice(0, 100) || undefined;
};

/**
 * The element of each interaction (by interactionId), from the first of its
 * event entries that names one: Chromium gives pointerdown and pointerup
 * entries (which INP and FID report) no target, but the same interaction's
 * click one.
 */
export const targets: Record<number, string | undefined> = {};

/** The element or interaction a metric blames, from its entries. */
export const attribution = (m: { name: string; entries: any[] }): string | undefined => {
  const e = m.entries;
  let x: any;
  let n: any;
  if (m.name == 'CLS') {
    x = e.reduce((a: any, b: any) => (a && a.value >= b.value ? a : b), 0);
    n = x && (x.sources.find((s: any) => s.node && s.node.nodeType == 1) || x.sources[0] || {}).node;
  } else {
    x = m.name == 'LCP' ? e[e.length - 1] : e.find((y: any) => y.target) || e[0];
    n = x && (x.element || x.target);
  }
  return selector(n) || (x && (targets[x.interactionId] || x.url)) || undefined;
};

const round = (v: number) => Math.round(v * 1e4) / 1e4;

/** The beacon event of a web-vitals metric. */
export const vitalEvent = (m: Pick<MetricType, 'name' | 'value' | 'rating' | 'delta' | 'navigationType' | 'id' | 'navigationURL'> & { entries: any[] }): BeaconEvent => ({
  type: 'vital',
  name: m.name,
  value: round(m.value),
  rating: m.rating,
  delta: round(m.delta),
  navigationType: m.navigationType,
  attribution: attribution(m),
  id: m.id,
  // The page loaded (web-vitals' navigation entry), not the one an SPA has
  // moved to by the time the page is hidden and LCP, CLS and INP report.
  url: m.navigationURL,
});

const rate = (v: number) => (v > 300 ? 'poor' : v > 100 ? 'needs-improvement' : 'good');

/**
 * Reports LCP, INP, CLS, FCP and TTFB through web-vitals (standard build),
 * and FID from a first-input PerformanceObserver where the browser still
 * has that entry type (web-vitals 5 dropped onFID).
 */
export function vitals(send: (e: BeaconEvent) => void) {
  let nt = 'navigate'; // FID's: that of the metrics web-vitals reported

  const r = (m: MetricType) => {
    nt = m.navigationType;
    send(vitalEvent(m));
  };
  try {
    new PerformanceObserver((l) =>
      l.getEntries().forEach((e: any) => {
        const i = e.interactionId;
        i && !targets[i] && (targets[i] = selector(e.target));
      }),
    ).observe({ type: 'event', buffered: true, durationThreshold: 16 } as any);
  } catch {}
  [onCLS, onFCP, onINP, onLCP, onTTFB].forEach((on) => {
    try {
      on(r);
    } catch {}
  });
  try {
    if (PerformanceObserver.supportedEntryTypes.includes('first-input')) {
      const o = new PerformanceObserver((l) => {
        const e: any = l.getEntries()[0];
        if (e) {
          o.disconnect();
          const v = round(e.processingStart - e.startTime);
          // The interaction's click entry, which names the element, comes
          // after its first-input one.
          setTimeout(() =>
            send({
              type: 'vital',
              name: 'FID',
              value: v,
              rating: rate(v),
              delta: v,
              navigationType: nt,
              attribution: selector(e.target) || targets[e.interactionId],
            }),
            50,
          );
        }
      });
      o.observe({ type: 'first-input', buffered: true });
    }
  } catch {}
}
