// The Explore page's pieces: running SQL (POST /api/v1/sql, FORMAT JSON),
// reading its column types, the result as a table, and as a chart when it
// has a time column and numbers.
import { useMemo, useState } from 'preact/hooks';
import { ApiError, send } from '../api';
import { Chart, Line } from '../chart';
import { num } from '../format';
import './explore-parts.css';

export interface SQLResult {
  meta: { name: string; type: string }[];
  data: Record<string, unknown>[];
  rows: number;
  rows_before_limit_at_least?: number;
  totals?: Record<string, unknown>; // GROUP BY … WITH TOTALS
}

export interface Ran {
  sql: string;
  result: SQLResult;
  ms: number;
}

// runSQL posts the text as it is; the answer is read as FORMAT JSON (the
// default, and what ?default_format asks for when the text has no FORMAT).
export async function runSQL(sql: string): Promise<Ran> {
  const start = performance.now();
  try {
    const result = await send<SQLResult>('POST', '/api/v1/sql?default_format=JSON', sql, 'text/plain; charset=utf-8');
    if (!result || !Array.isArray(result.meta) || !Array.isArray(result.data)) {
      throw new ApiError(200, 'bad_answer', 'The answer is not FORMAT JSON: Explore shows JSON results; remove the FORMAT clause.');
    }
    return { sql, result, ms: performance.now() - start };
  } catch (e) {
    if (e instanceof ApiError && e.code === 'bad_answer' && e.status < 400) {
      throw new ApiError(e.status, e.code, 'The answer is not JSON (a FORMAT JSONEachRow or TabSeparated clause?): Explore shows FORMAT JSON results; remove the FORMAT clause.');
    }
    throw e;
  }
}

// Column kinds, from ClickHouse's type names (Nullable(…) and
// LowCardinality(…) looked through).
export type Kind = 'time' | 'number' | 'string' | 'other';

function bare(type: string): string {
  let t = type.trim();
  for (;;) {
    const m = /^(?:Nullable|LowCardinality)\((.*)\)$/.exec(t);
    if (!m) return t;
    t = m[1];
  }
}

export function kindOf(type: string): Kind {
  const t = bare(type);
  if (/^(DateTime64|DateTime|Date32|Date)\b/.test(t)) return 'time';
  if (/^(U?Int\d+|Float\d+|Decimal)/.test(t)) return 'number';
  if (/^(String|FixedString|UUID|Enum)/.test(t)) return 'string';
  return 'other';
}

// zoneOf is the time zone of a DateTime('Zone') type ("" for UTC).
export function zoneOf(type: string): string {
  const m = /^DateTime(?:64)?\((?:\d+\s*,\s*)?'([^']+)'\)/.exec(bare(type));
  return m ? m[1] : '';
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

// zoneOffset is how far a zone's wall clock is ahead of UTC at an instant.
function zoneOffset(ms: number, zone: string): number {
  let f = zoneFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    zoneFormats.set(zone, f);
  }
  const p: Record<string, number> = {};
  for (const x of f.formatToParts(new Date(ms))) if (x.type !== 'literal') p[x.type] = Number(x.value);
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(ms / 1000) * 1000;
}

// timeOf reads a DateTime ("YYYY-MM-DD hh:mm:ss", the wall clock of the
// type's zone) or a Date as Unix seconds; null when it is not one.
export function timeOf(v: unknown, zone: string): number | null {
  if (typeof v !== 'string') return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(\.\d+)?)?$/.exec(v);
  if (!m) return null;
  const wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0)) + (m[7] ? Math.round(parseFloat(m[7]) * 1000) : 0);
  if (!zone || zone === 'UTC' || zone === 'Etc/UTC') return wall / 1000;
  try {
    let t = wall - zoneOffset(wall, zone);
    t = wall - zoneOffset(t, zone);
    return t / 1000;
  } catch {
    return wall / 1000;
  }
}

// numberOf reads a number (64-bit integers come as strings).
export function numberOf(v: unknown): number | null {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '') {
    const n = Number(v);
    return Number.isFinite(n) ? n : null;
  }
  return null;
}

// shown is a cell as the table writes it: numbers to 6 significant
// digits (the exact value is the cell's title), "–" for null.
export function shown(v: unknown, kind: Kind): string {
  if (v === null || v === undefined) return '–';
  if (kind === 'number') {
    const n = numberOf(v);
    if (n === null) return String(v);
    if (typeof v === 'string' || Number.isInteger(n)) return String(v);
    return String(parseFloat(n.toPrecision(6)));
  }
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

const MAX_SHOWN = 1000;

// ResultTable shows rows in the query's order; a heading sorts by its
// column (again: the other way; a third time: the query's order).
export function ResultTable({ result }: { result: SQLResult }) {
  const cols = result.meta;
  const kinds = useMemo(() => cols.map((c) => kindOf(c.type)), [result]);
  const [sort, setSort] = useState<{ i: number; desc: boolean } | null>(null);
  const rows = useMemo(() => {
    if (!sort || sort.i >= cols.length) return result.data;
    const c = cols[sort.i];
    const k = kinds[sort.i];
    const val = (r: Record<string, unknown>) => (k === 'number' ? numberOf(r[c.name]) : r[c.name] === null || r[c.name] === undefined ? null : String(r[c.name]));
    const out = [...result.data];
    out.sort((a, b) => {
      const x = val(a), y = val(b);
      if (x === y) return 0;
      if (x === null) return 1;
      if (y === null) return -1;
      const r = x < y ? -1 : 1;
      return sort.desc ? -r : r;
    });
    return out;
  }, [result, sort]);
  const cycle = (i: number) => {
    if (!sort || sort.i !== i) setSort({ i, desc: kinds[i] === 'number' });
    else if (sort.desc === (kinds[i] === 'number')) setSort({ i, desc: !sort.desc });
    else setSort(null);
  };
  const shownRows = rows.slice(0, MAX_SHOWN);
  return (
    <>
      <div class="table-wrap ex-table">
        <table aria-label="Query result" data-testid="ex-table">
          <thead>
            <tr>
              {cols.map((c, i) => (
                <th scope="col" class={kinds[i] === 'number' ? 'num' : ''} aria-sort={sort?.i === i ? (sort.desc ? 'descending' : 'ascending') : 'none'} title={c.type}>
                  <button type="button" onClick={() => cycle(i)}>
                    {c.name}
                  </button>
                  <span class="ex-type">{c.type}</span>
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {shownRows.map((r) => (
              <tr>
                {cols.map((c, i) => {
                  const v = r[c.name];
                  const s = shown(v, kinds[i]);
                  return (
                    <td class={kinds[i] === 'number' ? 'num' : ''} title={s.length > 60 || (kinds[i] === 'number' && s !== String(v)) ? String(v) : undefined}>
                      {s.length > 200 ? s.slice(0, 200) + '…' : s}
                    </td>
                  );
                })}
              </tr>
            ))}
          </tbody>
          {result.totals && (
            <tfoot data-testid="ex-totals">
              <tr>
                {cols.map((c, i) => {
                  const s = shown(result.totals![c.name], kinds[i]);
                  return (
                    <td class={kinds[i] === 'number' ? 'num' : ''} title={i === 0 ? 'WITH TOTALS: key columns hold their default values' : undefined}>
                      {i === 0 && <span class="ex-type">Totals </span>}
                      {s.length > 200 ? s.slice(0, 200) + '…' : s}
                    </td>
                  );
                })}
              </tr>
            </tfoot>
          )}
        </table>
      </div>
      {rows.length > MAX_SHOWN && (
        <p class="meta">
          The first {num(MAX_SHOWN)} of {rows.length.toLocaleString('en-US')} rows are shown; add a LIMIT or aggregate to see fewer.
        </p>
      )}
    </>
  );
}

export interface ChartPlan {
  time: string; // the time column
  numbers: string[]; // numeric columns
  group: string | null; // a string column splitting the lines
}

// chartPlan says how a result charts: its first time column over its
// numeric columns, split by its first string column; null when it has no
// time column or no number, or fewer than two rows.
export function chartPlan(r: SQLResult): ChartPlan | null {
  if (r.data.length < 2) return null;
  const time = r.meta.find((c) => kindOf(c.type) === 'time');
  if (!time) return null;
  const numbers = r.meta.filter((c) => c !== time && kindOf(c.type) === 'number').map((c) => c.name);
  if (!numbers.length) return null;
  const group = r.meta.find((c) => kindOf(c.type) === 'string');
  return { time: time.name, numbers, group: group ? group.name : null };
}

export const TOP_GROUPS = 8;

// chartData builds the lines: one per numeric column, or, with a string
// column, one per value of it (the TOP_GROUPS with the largest totals of
// the chosen column). Times are sorted; a value missing at a time is a
// gap. Rows that repeat a time in one line keep the last row's value.
export function chartData(r: SQLResult, p: ChartPlan, measure: string): { times: number[]; lines: Line[]; repeated: number; others: number } {
  const zone = zoneOf(r.meta.find((c) => c.name === p.time)!.type);
  const unit = (v: number | null) => num(v, 2);
  const rows: { t: number; r: Record<string, unknown> }[] = [];
  for (const row of r.data) {
    const t = timeOf(row[p.time], zone);
    if (t !== null) rows.push({ t, r: row });
  }
  rows.sort((a, b) => a.t - b.t);
  if (!p.group) {
    // One point per row, in time order (rows at the same time are kept).
    return {
      times: rows.map((x) => x.t),
      lines: p.numbers.slice(0, TOP_GROUPS).map((n) => ({ label: n, values: rows.map((x) => numberOf(x.r[n])), unit })),
      repeated: 0,
      others: Math.max(p.numbers.length - TOP_GROUPS, 0),
    };
  }
  const g = p.group;
  const totals = new Map<string, number>();
  for (const x of rows) {
    const k = String(x.r[g] ?? '');
    totals.set(k, (totals.get(k) ?? 0) + Math.abs(numberOf(x.r[measure]) ?? 0));
  }
  const top = [...totals.entries()].sort((a, b) => b[1] - a[1]).slice(0, TOP_GROUPS).map((e) => e[0]);
  const times = [...new Set(rows.map((x) => x.t))];
  const at = new Map(times.map((t, i) => [t, i]));
  let repeated = 0;
  const lines: Line[] = top.map((k) => {
    const values: (number | null)[] = new Array(times.length).fill(null);
    const seen = new Set<number>();
    for (const x of rows) {
      if (String(x.r[g] ?? '') !== k) continue;
      const i = at.get(x.t)!;
      if (seen.has(i)) repeated++;
      seen.add(i);
      values[i] = numberOf(x.r[measure]);
    }
    return { label: k === '' ? '(empty)' : k, values, unit };
  });
  return { times, lines, repeated, others: Math.max(totals.size - TOP_GROUPS, 0) };
}

export function ResultChart({ result, plan }: { result: SQLResult; plan: ChartPlan }) {
  const [measure, setMeasure] = useState(plan.numbers[0]);
  const m = plan.numbers.includes(measure) ? measure : plan.numbers[0];
  const d = useMemo(() => chartData(result, plan, m), [result, plan.time, plan.group, m]);
  const title = plan.group ? `${m} over ${plan.time} by ${plan.group}` : `${plan.numbers.slice(0, TOP_GROUPS).join(', ')} over ${plan.time}`;
  return (
    <div class="ex-chart" data-testid="ex-chart">
      <div class="ex-chart-head">
        <span class="meta">
          {plan.group ? (
            <>
              One line per <code>{plan.group}</code>
              {d.others > 0 ? ` (the ${TOP_GROUPS} largest of ${TOP_GROUPS + d.others})` : ''}
            </>
          ) : (
            <>One line per numeric column{d.others > 0 ? ` (the first ${TOP_GROUPS})` : ''}</>
          )}
          , over <code>{plan.time}</code>
          {zoneOf(result.meta.find((c) => c.name === plan.time)!.type) ? '' : ' (UTC)'}; times shown in your browser's zone.
          {d.repeated > 0 && ` ${d.repeated} rows repeat a time of their line: add ${plan.time} to GROUP BY to chart every row.`}
        </span>
        {plan.group && plan.numbers.length > 1 && (
          <label class="ex-measure">
            Value
            <select value={m} onChange={(e) => setMeasure((e.target as HTMLSelectElement).value)} data-testid="ex-measure">
              {plan.numbers.map((n) => (
                <option value={n}>{n}</option>
              ))}
            </select>
          </label>
        )}
      </div>
      <Chart title={title} times={d.times} lines={d.lines} height={260} />
    </div>
  );
}

// errorPosition finds "line L, column C" in the server's message and the
// offset it names in the text (null when it names none).
export function errorPosition(message: string, text: string): { line: number; column: number; offset: number; excerpt: string } | null {
  const m = /line (\d+), column (\d+)/.exec(message);
  if (!m) return null;
  const line = Number(m[1]), column = Number(m[2]);
  const lines = text.split('\n');
  if (line < 1 || line > lines.length) return null;
  let offset = 0;
  for (let i = 0; i < line - 1; i++) offset += lines[i].length + 1;
  // Columns count characters (code points) from 1.
  const chars = Array.from(lines[line - 1]);
  const col = Math.min(Math.max(column, 1), chars.length + 1);
  offset += chars.slice(0, col - 1).join('').length;
  const excerpt = lines[line - 1] + '\n' + ' '.repeat(col - 1) + '^';
  return { line, column, offset, excerpt };
}
