// Charts are uPlot: a line chart of series over time, and a sparkline.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';

export interface Line {
  label: string;
  values: (number | null)[];
  color?: string;
  unit?: (v: number | null) => string;
  points?: boolean; // drawn as points, without a line (e.g. lab runs)
  spanGaps?: boolean; // a line across missing values
}

const palette = ['#4e79a7', '#f28e2b', '#e15759', '#76b7b2', '#59a14f', '#edc948', '#b07aa1', '#ff9da7'];

function cssVar(name: string, dflt: string) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim() || dflt;
}

// Chart draws lines over times (Unix seconds); it resizes with its box.
export function Chart({ times, lines, height = 220, title }: { times: number[]; lines: Line[]; height?: number; title: string }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const axis = { stroke: cssVar('--muted', '#666'), grid: { stroke: cssVar('--grid', '#8882'), width: 1 }, ticks: { show: false } };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { live: true },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [axis, { ...axis, size: 60, values: (_u, vals) => vals.map((v) => (lines[0]?.unit ? lines[0].unit(v) : String(v))) }],
      series: [
        {},
        ...lines.map((l, i) => ({
          label: l.label,
          stroke: l.color ?? palette[i % palette.length],
          width: 1.5,
          spanGaps: !!l.spanGaps,
          ...(l.points ? { paths: () => null, points: { show: true, size: 9, fill: l.color ?? palette[i % palette.length] } } : {}),
          value: (_u: uPlot, v: number | null) => (l.unit ? l.unit(v) : v === null ? '–' : String(v)),
        })),
      ],
    };
    const u = new uPlot(opts, [times, ...lines.map((l) => l.values)] as uPlot.AlignedData, el);
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(el.clientWidth, 200), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
    };
  }, [times, lines, height]);
  return <figure class="chart" role="img" aria-label={title}><figcaption>{title}</figcaption><div ref={box} /></figure>;
}

// Spark is a tiny line without axes (a table row's trend).
export function Spark({ values, width = 100, height = 24 }: { values: (number | null)[]; width?: number; height?: number }) {
  const nums = values.filter((v): v is number => v !== null);
  if (nums.length < 2) return <svg width={width} height={height} aria-hidden="true" />;
  const max = Math.max(...nums), min = Math.min(...nums);
  const span = max - min || 1;
  let d = '';
  values.forEach((v, i) => {
    if (v === null) return;
    const x = (i / (values.length - 1)) * width;
    const y = height - 2 - ((v - min) / span) * (height - 4);
    d += (d ? 'L' : 'M') + x.toFixed(1) + ' ' + y.toFixed(1);
  });
  return (
    <svg width={width} height={height} class="spark" aria-hidden="true">
      <path d={d} fill="none" stroke="currentColor" stroke-width="1.5" />
    </svg>
  );
}
