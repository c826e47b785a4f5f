// Explore: Workers Analytics Engine's SQL dialect over the project's
// datasets (POST /api/v1/sql). The query is in the URL (?q=) so a link
// shares it; Ctrl/Cmd+Enter runs it. The result is a table, and a chart
// when it has a time column and numbers. Saved queries are the project's
// (GET/POST/PUT/DELETE /api/v1/saved-queries).
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, get, send } from '../api';
import { num } from '../format';
import { navigate, View } from '../state';
import { Empty, Loaded, Panel, useData } from '../ui';
import { chartPlan, errorPosition, Ran, ResultChart, ResultTable, runSQL } from './explore-parts';
import { ActionError, Confirm, CopyButton, useAction, useCanChange, utc } from './settings-parts';

interface Saved {
  id: number;
  name: string;
  sql: string;
  created: string;
  updated: string;
}

export const EXAMPLES: { name: string; sql: string }[] = [
  {
    name: 'Requests per hour by status class (chart)',
    sql: `SELECT toStartOfInterval(timestamp, INTERVAL '1' HOUR) AS t,
       multiIf(status >= 500, '5xx', status >= 400, '4xx', '2xx/3xx') AS class,
       SUM(_sample_interval) AS requests
FROM requests
WHERE timestamp > NOW() - INTERVAL '1' DAY
GROUP BY t, class
ORDER BY t`,
  },
  {
    name: 'Slowest endpoints (p95, last 24 h)',
    sql: `SELECT endpoint,
       SUM(_sample_interval) AS requests,
       quantileExactWeighted(0.95)(duration, _sample_interval) AS p95_ms,
       100 * sumIf(_sample_interval, status >= 500) / SUM(_sample_interval) AS error_pct
FROM requests
WHERE timestamp > NOW() - INTERVAL '1' DAY
GROUP BY endpoint
ORDER BY p95_ms DESC
LIMIT 20`,
  },
  {
    name: 'AI cost per model over 7 days (chart)',
    sql: `SELECT toStartOfInterval(timestamp, INTERVAL '6' HOUR) AS t,
       model,
       SUM(cost) AS usd,
       SUM(tokens) AS tokens
FROM ai_usage
WHERE timestamp > NOW() - INTERVAL '7' DAY
GROUP BY t, model
ORDER BY t`,
  },
  {
    name: 'Latency percentiles every 15 minutes (chart)',
    sql: `SELECT toStartOfInterval(timestamp, INTERVAL '15' MINUTE) AS t,
       quantileExactWeighted(0.5)(duration, _sample_interval) AS p50_ms,
       quantileExactWeighted(0.95)(duration, _sample_interval) AS p95_ms,
       quantileExactWeighted(0.99)(duration, _sample_interval) AS p99_ms
FROM requests
WHERE timestamp > NOW() - INTERVAL '6' HOUR
GROUP BY t
ORDER BY t`,
  },
  {
    name: 'Top error types',
    sql: `SELECT error_type, any(message) AS example, count() AS events, uniq(user) AS users
FROM errors
WHERE timestamp > NOW() - INTERVAL '7' DAY
GROUP BY error_type
ORDER BY events DESC
LIMIT 20`,
  },
  {
    name: 'Top pages and visits (web analytics)',
    sql: `SELECT page, count() AS views, sum(entry) AS visits, uniq(visitor) AS visitors
FROM pageviews
WHERE timestamp > NOW() - INTERVAL '7' DAY
GROUP BY page
ORDER BY views DESC
LIMIT 20`,
  },
  { name: 'Datasets of this project', sql: 'SHOW TABLES' },
];

const writeSnippet = () => `curl -X POST ${location.origin}/api/v1/datasets/requests/points \\
  -H "Authorization: Bearer $ALIDADE_WRITE_KEY" \\
  -d '{"index":"GET /api/lessons/:id","fields":{"url":"/api/lessons/7","method":"GET","duration":42.5,"status":200}}'`;

export function Explore({ view }: { view: View }) {
  const q = view.params.get('q') ?? '';
  const savedId = Number(view.params.get('saved') ?? 0) || 0;
  const [text, setText] = useState(q || EXAMPLES[0].sql);
  const [runs, setRuns] = useState(0);
  const editor = useRef<HTMLTextAreaElement>(null);

  // The URL is the truth: back and forward bring their query back.
  useEffect(() => {
    if (q) setText(q);
  }, [q]);

  // A failure carries its query, so that a new query's run does not show
  // the previous one's error.
  const res = useData<Ran | null>(
    () =>
      q.trim()
        ? runSQL(q).catch((e) => {
            throw Object.assign(e, { sql: q });
          })
        : Promise.resolve(null),
    [q, view.project, runs],
  );
  const current = res.data && res.data.sql === q ? res.data : null;
  const error = res.error && (res.error as { sql?: string }).sql === q ? res.error : null;
  const [savedV, setSavedV] = useState(0);
  const saved = useData(() => get<{ queries: Saved[] }>('/api/v1/saved-queries'), [view.project, savedV]);
  const reloadSaved = () => setSavedV((n) => n + 1);
  // A link to a saved query alone (?saved=ID) opens its text.
  useEffect(() => {
    const s = savedId && !q ? saved.data?.queries.find((x) => x.id === savedId) : null;
    if (s) navigate(null, { q: s.sql }, true);
  }, [savedId, q, saved.data]);

  const run = (sql = text) => {
    if (!sql.trim()) return;
    if (sql === q) setRuns((n) => n + 1);
    else navigate(null, { q: sql });
  };

  const pos = error ? errorPosition(error.message, q) : null;
  const goTo = () => {
    const ta = editor.current;
    if (!ta || !pos) return;
    if (text !== q) setText(q);
    ta.focus();
    requestAnimationFrame(() => ta.setSelectionRange(pos.offset, pos.offset + 1));
  };

  return (
    <div class="ex-layout">
      <div class="ex-main">
        <Panel
          title="Query"
          wide
          actions={
            <label class="ex-examples">
              <span class="sr-only">Start from an example</span>
              <select
                value=""
                data-testid="ex-examples"
                onChange={(e) => {
                  const ex = EXAMPLES[Number((e.target as HTMLSelectElement).value)];
                  if (!ex) return;
                  setText(ex.sql);
                  navigate(null, { q: ex.sql, saved: null });
                }}
              >
                <option value="">Examples…</option>
                {EXAMPLES.map((ex, i) => (
                  <option value={i}>{ex.name}</option>
                ))}
              </select>
            </label>
          }
        >
          <label for="ex-sql" class="sr-only">
            SQL query (Workers Analytics Engine dialect)
          </label>
          <textarea
            id="ex-sql"
            ref={editor}
            class="code ex-editor"
            spellcheck={false}
            autocapitalize="off"
            autocomplete="off"
            rows={Math.min(Math.max(text.split('\n').length + 1, 6), 24)}
            value={text}
            aria-describedby="ex-help"
            data-testid="ex-sql"
            onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
            onKeyDown={(e) => {
              if ((e.ctrlKey || e.metaKey) && e.key === 'Enter') {
                e.preventDefault();
                run();
              }
            }}
          />
          <div class="ex-toolbar">
            <button type="button" class="st-primary" onClick={() => run()} disabled={!text.trim()} data-testid="ex-run">
              Run
            </button>
            <span id="ex-help" class="meta">
              <kbd>Ctrl</kbd>/<kbd>⌘</kbd>+<kbd>Enter</kbd> runs. Tables are the project's datasets; the time range is the query's own (the range above does not apply).
            </span>
            {q && <CopyButton text={location.href} what="link to this query" label="Copy link" />}
          </div>
          <SaveForm list={saved} reload={reloadSaved} text={text} q={q} savedId={savedId} />
        </Panel>
        <Results q={q} ran={current} loading={res.loading} error={error} pos={pos} goTo={goTo} />
      </div>
      <SavedList
        list={saved}
        reload={reloadSaved}
        savedId={savedId}
        onPick={(s) => {
          setText(s.sql);
          navigate(null, { q: s.sql, saved: s.id });
        }}
      />
    </div>
  );
}

function Results({
  q,
  ran,
  loading,
  error,
  pos,
  goTo,
}: {
  q: string;
  ran: Ran | null;
  loading: boolean;
  error: Error | null;
  pos: ReturnType<typeof errorPosition>;
  goTo: () => void;
}) {
  const plan = useMemo(() => (ran ? chartPlan(ran.result) : null), [ran]);
  if (!q.trim()) {
    return (
      <Panel title="Result" wide>
        <p class="meta">Write a query above, or start from an example, and press Run. The SQL API's dialect and functions are in the README ("SQL API").</p>
      </Panel>
    );
  }
  if (error) {
    return (
      <Panel title="Result" wide>
        <div class="ex-error" role="alert" data-testid="ex-error">
          <p class="failure">{error.message}</p>
          {pos && (
            <>
              <pre class="code ex-caret" aria-label={`line ${pos.line}, column ${pos.column}`}>
                {pos.excerpt}
              </pre>
              <button type="button" onClick={goTo}>
                Go to line {pos.line}, column {pos.column}
              </button>
            </>
          )}
        </div>
      </Panel>
    );
  }
  if (!ran) {
    return (
      <Panel title="Result" wide>
        <p class="loading" aria-live="polite">
          Running…
        </p>
      </Panel>
    );
  }
  const r = ran.result;
  const before = r.rows_before_limit_at_least;
  return (
    <>
      {plan && (
        <Panel title="Chart" wide>
          <ResultChart key={ran.sql} result={r} plan={plan} />
        </Panel>
      )}
      <Panel title="Result" wide>
        <p class="meta" aria-live="polite" data-testid="ex-summary">
          {r.rows.toLocaleString('en-US')} row{r.rows === 1 ? '' : 's'}
          {before !== undefined && before > r.rows ? ` of ${before.toLocaleString('en-US')} before LIMIT` : ''} · {r.meta.length} column{r.meta.length === 1 ? '' : 's'} ·{' '}
          {num(ran.ms, 0)} ms{loading ? ' · refreshing…' : ''}
        </p>
        {r.rows === 0 ? (
          <Empty what="The query returned no rows. If the dataset has no points in its time range yet, write some, e.g.:" snippet={writeSnippet()} />
        ) : (
          <ResultTable key={ran.sql} result={r} />
        )}
      </Panel>
    </>
  );
}

// SaveForm saves the editor's text as a new query of the project, or
// over the saved query the page was opened from (admin sessions only).
function SaveForm({ list, reload, text, q, savedId }: { list: Loaded<{ queries: Saved[] }>; reload: () => void; text: string; q: string; savedId: number }) {
  const canChange = useCanChange();
  const act = useAction();
  const [name, setName] = useState<string | null>(null);
  const current = list.data?.queries.find((s) => s.id === savedId) ?? null;
  useEffect(() => setName(null), [savedId]);
  if (!canChange) return null;
  const shownName = name ?? current?.name ?? '';
  const done = (s: Saved) => {
    setName(null);
    reload();
    if (s.sql !== q || s.id !== savedId) navigate(null, { q: s.sql, saved: s.id }, s.sql === q);
  };
  const save = async (asNew: boolean) => {
    const body = { name: shownName.trim(), sql: text };
    const r = await act.run(() => (asNew || !current ? send<Saved>('POST', '/api/v1/saved-queries', body) : send<Saved>('PUT', `/api/v1/saved-queries/${current.id}`, body)));
    if (r.ok) done(r.value);
  };
  return (
    <form
      class="ex-save"
      onSubmit={(e) => {
        e.preventDefault();
        save(false);
      }}
    >
      <label>
        Name
        <input
          type="text"
          value={shownName}
          maxLength={100}
          placeholder="e.g. Slowest endpoints"
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
          data-testid="ex-save-name"
        />
      </label>
      <button type="submit" disabled={act.busy || !shownName.trim() || !text.trim()} data-testid="ex-save">
        {current ? 'Save changes' : 'Save query'}
      </button>
      {current && (
        <button type="button" disabled={act.busy || !shownName.trim() || !text.trim()} onClick={() => save(true)} data-testid="ex-save-new">
          Save as new
        </button>
      )}
      {current && <span class="meta">Editing “{current.name}”, saved {utc(current.updated)}</span>}
      <ActionError error={act.error} testid="ex-save-error" />
    </form>
  );
}

function SavedList({ list, reload, savedId, onPick }: { list: Loaded<{ queries: Saved[] }>; reload: () => void; savedId: number; onPick: (s: Saved) => void }) {
  const canChange = useCanChange();
  const act = useAction();
  const [filter, setFilter] = useState('');
  const qs = list.data?.queries ?? [];
  const f = filter.trim().toLowerCase();
  const shownQs = f ? qs.filter((s) => s.name.toLowerCase().includes(f) || s.sql.toLowerCase().includes(f)) : qs;
  const notAvailable = list.error instanceof ApiError && list.error.status === 501;
  return (
    <aside class="ex-side" aria-label="Saved queries">
      <Panel title="Saved queries">
        {list.error && !list.data && <p class="failure" role="alert">{notAvailable ? 'This server keeps no saved queries.' : list.error.message}</p>}
        {list.data && qs.length === 0 && (
          <p class="meta" data-testid="ex-saved-empty">
            {canChange ? 'None yet. Write a query, give it a name and save it: the project’s sessions will find it here.' : 'None yet. An admin session can save queries for this project.'}
          </p>
        )}
        {qs.length > 6 && (
          <label class="ex-filter">
            <span class="sr-only">Filter saved queries</span>
            <input type="search" placeholder="Filter…" value={filter} onInput={(e) => setFilter((e.target as HTMLInputElement).value)} />
          </label>
        )}
        <ul class="ex-saved" data-testid="ex-saved">
          {shownQs.map((s) => (
            <li class={s.id === savedId ? 'current' : ''}>
              <button type="button" class="ex-saved-name" aria-current={s.id === savedId ? 'true' : undefined} title={s.sql} onClick={() => onPick(s)}>
                {s.name}
              </button>
              <span class="meta">{utc(s.updated)}</span>
              {canChange && (
                <Confirm
                  label="Delete"
                  what={`the saved query “${s.name}”`}
                  question={`Delete “${s.name}”?`}
                  yes="Delete"
                  disabled={act.busy}
                  testid={'ex-delete-' + s.id}
                  onYes={async () => {
                    const r = await act.run(() => send('DELETE', `/api/v1/saved-queries/${s.id}`));
                    if (r.ok) {
                      reload();
                      if (s.id === savedId) navigate(null, { saved: null }, true);
                    }
                  }}
                />
              )}
            </li>
          ))}
        </ul>
        <ActionError error={act.error} />
      </Panel>
    </aside>
  );
}
