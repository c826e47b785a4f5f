// How figures read: short, with units, and "–" for what is undefined.

export function num(v: number | null | undefined, digits = 0): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  const a = Math.abs(v);
  if (a >= 1e9) return (v / 1e9).toFixed(1) + 'B';
  if (a >= 1e6) return (v / 1e6).toFixed(1) + 'M';
  if (a >= 1e4) return (v / 1e3).toFixed(1) + 'k';
  return v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  if (v >= 10_000) return (v / 1000).toFixed(1) + ' s';
  if (v >= 1000) return (v / 1000).toFixed(2) + ' s';
  return (v >= 100 ? v.toFixed(0) : v.toFixed(1)) + ' ms';
}

export function pct(v: number | null | undefined, digits = 2): string {
  return v === null || v === undefined ? '–' : v.toFixed(digits) + '%';
}

export function usd(v: number | null | undefined): string {
  if (v === null || v === undefined) return '–';
  return '$' + (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(4));
}

// change is the relative change from prev to cur, as "+12.3%" ("" when
// there is nothing to compare with).
export function change(cur: number | null | undefined, prev: number | null | undefined): { text: string; dir: number } {
  if (cur === null || cur === undefined || prev === null || prev === undefined || prev === 0) return { text: '', dir: 0 };
  const d = ((cur - prev) / Math.abs(prev)) * 100;
  if (!Number.isFinite(d)) return { text: '', dir: 0 };
  return { text: (d >= 0 ? '+' : '') + d.toFixed(1) + '%', dir: Math.sign(d) };
}

export function ago(iso: string | null | undefined): string {
  if (!iso) return '–';
  const s = (Date.now() - Date.parse(iso)) / 1000;
  if (s < 5) return 'just now';
  if (s < 60) return Math.round(s) + ' s ago';
  if (s < 3600) return Math.round(s / 60) + ' min ago';
  if (s < 86400) return Math.round(s / 3600) + ' h ago';
  return Math.round(s / 86400) + ' d ago';
}
