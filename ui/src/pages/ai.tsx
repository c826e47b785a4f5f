// AI: tokens and cost by model over time, inference latency and time to
// first token, unpriced models, embeddings, vector search (latency and
// relevance) and intent accuracy, from GET /api/v1/metrics; the per-model
// series come from one structured query (POST /api/v1/query).
import { useMemo } from 'preact/hooks';
import { Chart, Line } from '../chart';
import { ms, num, pct, usd } from '../format';
import { View } from '../state';
import { Column, Empty, Failure, Panel, Stat, Table, times, useData, useSession } from '../ui';
import {
  groupSeries,
  loadPageMetrics,
  Meter,
  ModelRow,
  Note,
  PageMetrics,
  PeriodMeta,
  quantCols,
  quantLines,
  score,
  sdk,
  Small,
  useAfter,
} from './backend-parts';

// SHOWN is how many models the charts draw one by one; the rest are "other".
const SHOWN = 6;

export function AI({ view }: { view: View }) {
  const { data: m, error } = useData(() => loadPageMetrics(view), [view.range, view.from, view.to, view.project]);
  if (!m) return error ? <Failure error={error} /> : <p class="loading">Loading…</p>;
  const a = m.ai, p = m.previous?.ai;
  return (
    <div class="bk-page">
      <Failure error={error} />
      <div class="stats" aria-label="Key figures">
        <Stat label="AI calls" value={num(a.calls)} cur={a.calls} prev={p?.calls} testid="ai-calls" />
        <Stat label="Tokens" value={num(a.tokens)} cur={a.tokens} prev={p?.tokens} testid="ai-tokens" />
        <Stat label="Cost" value={usd(a.cost)} cur={a.cost} prev={p?.cost} worse={1} testid="ai-cost" />
        <Stat label="Inference p95" value={ms(a.latency.p95)} cur={a.latency.p95} prev={p?.latency?.p95} worse={1} testid="ai-p95" />
        <Stat label="Time to first token p95" value={ms(a.timeToFirstToken.p95)} cur={a.timeToFirstToken.p95} prev={p?.timeToFirstToken?.p95} worse={1} testid="ai-ttft" />
        <Stat label="Unpriced calls" value={num(a.unpricedCalls)} cur={a.unpricedCalls} prev={p?.unpricedCalls} worse={1} testid="ai-unpriced" />
      </div>
      {a.calls === 0 ? (
        <Panel title="Model calls" wide>
          <Empty
            what="No model calls in this range. Record each call to a language model; the server prices it from its catalog:"
            snippet={sdk(`client.TrackAIUsage(alidade.AIUsage{Model: "gpt-4o-mini", Feature: "chat", Provider: "openai",
	InputTokens: resp.Usage.PromptTokens, OutputTokens: resp.Usage.CompletionTokens,
	Latency: time.Since(start), TimeToFirstToken: firstToken.Sub(start)})`)}
          />
        </Panel>
      ) : (
        <>
          <ByModelOverTime m={m} />
          <Models m={m} />
          <div class="grid">
            <Latency m={m} />
            <Unpriced m={m} />
          </div>
        </>
      )}
      <div class="grid">
        <Embeddings m={m} />
        <VectorSearch m={m} />
      </div>
      <Intent m={m} />
      <PeriodMeta m={m} />
    </div>
  );
}

const modelName = (s: string) => s || '(none)';

// perThousand is a model's cost per 1,000 calls over its priced calls.
function perThousand(r: ModelRow): number | null {
  const priced = r.calls - r.unpricedCalls;
  return priced > 0 ? (r.cost / priced) * 1000 : null;
}

// ByModelOverTime charts tokens and cost per interval for the models that
// cost most, and the rest as "other" (the metrics' totals less theirs).
function ByModelOverTime({ m }: { m: PageMetrics }) {
  // The lines are made with the metrics they were asked for, so that they
  // always match their buckets while the next answer loads.
  const s = useAfter(m, async (m) => {
    const shown = m.ai.byModel.slice(0, SHOWN).map((r) => r.model);
    const g = await groupSeries(m, 'ai_usage', 'model', shown, {
      tokens: { agg: { type: 'sum', field: 'tokens' }, fill: 0 },
      cost: { agg: { type: 'sum', field: 'cost' }, fill: 0 },
    });
    const b = m.series.buckets;
    const make = (key: 'tokens' | 'cost', total: (i: number) => number, unit: (v: number | null) => string): Line[] => {
      const lines: Line[] = shown.map((model) => ({ label: modelName(model), values: g.get(model)?.[key] ?? b.map(() => 0), unit }));
      if (m.ai.byModel.length > SHOWN) {
        const other = b.map((_, i) => {
          const rest = total(i) - lines.reduce((acc, l) => acc + (l.values[i] ?? 0), 0);
          return Math.abs(rest) < 1e-9 * Math.max(1, total(i)) ? 0 : Math.max(rest, 0);
        });
        lines.push({ label: 'other', values: other, unit, color: '#8c8c8c' });
      }
      return lines;
    };
    return { t: times(b), tokens: make('tokens', (i) => b[i].aiTokens, (v) => num(v)), cost: make('cost', (i) => b[i].aiCost, usd) };
  });
  const charts = s.data;
  return (
    <Panel title="Tokens and cost by model" wide>
      <Note>
        Per {m.series.interval}
        {m.ai.byModel.length > SHOWN ? `; the ${SHOWN} models that cost most, and the other ${m.ai.byModel.length - SHOWN} together` : ''}.
      </Note>
      <Failure error={s.error} />
      {charts ? (
        <div class="bk-charts">
          <div>
            <h3>Tokens</h3>
            <Chart title={'Tokens by model per ' + m.series.interval} times={charts.t} lines={charts.tokens} height={200} />
          </div>
          <div>
            <h3>Cost (USD)</h3>
            <Chart title={'Cost in USD by model per ' + m.series.interval} times={charts.t} lines={charts.cost} height={200} />
          </div>
        </div>
      ) : (
        !s.error && <p class="loading">Loading…</p>
      )}
    </Panel>
  );
}

function Models({ m }: { m: PageMetrics }) {
  const columns: Column<ModelRow>[] = [
    { key: 'model', label: 'Model', value: (r) => r.model, render: (r) => <span class="bk-name" title={r.model}>{modelName(r.model)}</span> },
    { key: 'calls', label: 'Calls', numeric: true, value: (r) => r.calls, render: (r) => num(r.calls) },
    { key: 'tokens', label: 'Tokens', numeric: true, value: (r) => r.tokens, render: (r) => num(r.tokens) },
    { key: 'input', label: 'Input', numeric: true, value: (r) => r.inputTokens, render: (r) => num(r.inputTokens) },
    { key: 'output', label: 'Output', numeric: true, value: (r) => r.outputTokens, render: (r) => num(r.outputTokens) },
    {
      key: 'cost',
      label: 'Cost',
      numeric: true,
      value: (r) => r.cost,
      render: (r) => (r.unpricedCalls > 0 && r.unpricedCalls === r.calls ? <span class="bk-bad" title="no price known">unpriced</span> : usd(r.cost)),
    },
    { key: 'perCall', label: 'Cost / 1k calls', numeric: true, value: (r) => perThousand(r), render: (r) => usd(perThousand(r)) },
    ...quantCols<ModelRow>('lat', (r) => r.latency, 'Latency').filter((c) => c.key !== 'latp99'),
    {
      key: 'ttft50',
      label: 'TTFT p50',
      numeric: true,
      value: (r) => r.timeToFirstToken.p50,
      render: (r) => ms(r.timeToFirstToken.p50),
    },
    {
      key: 'ttft95',
      label: 'TTFT p95',
      numeric: true,
      value: (r) => r.timeToFirstToken.p95,
      render: (r) => ms(r.timeToFirstToken.p95),
    },
  ];
  return (
    <Panel title="Models" wide>
      <Note>Latency is inference time; TTFT is time to first token, over streamed calls. Click a heading to sort.</Note>
      <Table label="Models" rows={m.ai.byModel} columns={columns} initial="cost" />
    </Panel>
  );
}

function Latency({ m }: { m: PageMetrics }) {
  const a = m.ai, p = m.previous?.ai;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lines = useMemo(() => quantLines(m.series.buckets, (b) => b.aiLatency), [m]);
  return (
    <Panel title="Inference latency">
      <Small>
        <Stat label="Latency p50" value={ms(a.latency.p50)} cur={a.latency.p50} prev={p?.latency?.p50} worse={1} />
        <Stat label="Latency p99" value={ms(a.latency.p99)} cur={a.latency.p99} prev={p?.latency?.p99} worse={1} />
        <Stat label="TTFT p50" value={ms(a.timeToFirstToken.p50)} cur={a.timeToFirstToken.p50} prev={p?.timeToFirstToken?.p50} worse={1} />
        <Stat label="TTFT p99" value={ms(a.timeToFirstToken.p99)} cur={a.timeToFirstToken.p99} prev={p?.timeToFirstToken?.p99} worse={1} />
      </Small>
      <Chart title="Inference latency percentiles" times={t} lines={lines} height={180} />
    </Panel>
  );
}

type UnpricedRow = PageMetrics['ai']['unpricedModels'][number];

function Unpriced({ m }: { m: PageMetrics }) {
  const list = m.ai.unpricedModels;
  const columns: Column<UnpricedRow>[] = [
    { key: 'model', label: 'Model', value: (r) => r.model, render: (r) => <span class="bk-name" title={r.model}>{modelName(r.model)}</span> },
    { key: 'dataset', label: 'Dataset', value: (r) => r.dataset },
    { key: 'points', label: 'Calls', numeric: true, value: (r) => r.points, render: (r) => num(r.points) },
    { key: 'tokens', label: 'Tokens', numeric: true, value: (r) => r.tokens, render: (r) => num(r.tokens) },
  ];
  const session = useSession();
  const first = list[0] ?? { model: 'MODEL', dataset: 'ai_usage' };
  const price = first.dataset === 'embeddings' ? '{"embedding": 0.02}' : '{"input": 0.5, "output": 1.5}';
  return (
    <Panel title="Unpriced models">
      {list.length === 0 ? (
        <p class="bk-ok" data-testid="ai-all-priced">
          Every model call in this range has a price.
        </p>
      ) : (
        <>
          <Note>These calls cost $0 on this page because no price is known for their model: the totals above leave them out.</Note>
          <Table label="Unpriced models" rows={list} columns={columns} initial="points" />
          <Empty
            what="Give a model its price (USD per 1M tokens; admin key) and its next calls are priced:"
            snippet={`curl -X PUT ${location.origin}/api/v1/pricing/${encodeURIComponent(first.model).replace(/%2F/g, '/')} \\
  -H "Authorization: Bearer $ALIDADE_ADMIN_KEY" \\
  -d '${price}'`}
          />
          {(session.kind === 'admin' || session.root) && (
            <p>
              <a href={'/settings' + location.search + '#st-pricing'}>Set prices in Settings → AI prices</a>
            </p>
          )}
        </>
      )}
    </Panel>
  );
}

type EmbRow = PageMetrics['embeddings']['byModel'][number];

function Embeddings({ m }: { m: PageMetrics }) {
  const e = m.embeddings, p = m.previous?.embeddings;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lines = useMemo(() => quantLines(m.series.buckets, (b) => b.embeddingLatency), [m]);
  const columns: Column<EmbRow>[] = [
    { key: 'model', label: 'Model', value: (r) => r.model, render: (r) => <span class="bk-name" title={r.model}>{modelName(r.model)}</span> },
    { key: 'calls', label: 'Calls', numeric: true, value: (r) => r.calls, render: (r) => num(r.calls) },
    { key: 'tokens', label: 'Tokens', numeric: true, value: (r) => r.tokens, render: (r) => num(r.tokens) },
    { key: 'cost', label: 'Cost', numeric: true, value: (r) => r.cost, render: (r) => usd(r.cost) },
    ...quantCols<EmbRow>('lat', (r) => r.latency).filter((c) => c.key === 'latp95'),
  ];
  return (
    <Panel title="Embeddings">
      {e.calls === 0 ? (
        <Empty
          what="No embedding calls in this range. Record each one:"
          snippet={sdk(`client.TrackEmbedding(alidade.Embedding{Model: "@cf/baai/bge-base-en-v1.5", Feature: "search",
	Tokens: tokens, Vectors: len(texts), Dimensions: 768, Latency: time.Since(start)})`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Calls" value={num(e.calls)} cur={e.calls} prev={p?.calls} testid="ai-emb-calls" />
            <Stat label="Vectors" value={num(e.vectors)} cur={e.vectors} prev={p?.vectors} />
            <Stat label="Cost" value={usd(e.cost)} cur={e.cost} prev={p?.cost} worse={1} />
            <Stat label="Latency p95" value={ms(e.latency.p95)} cur={e.latency.p95} prev={p?.latency?.p95} worse={1} />
          </Small>
          <Chart title="Embedding latency percentiles" times={t} lines={lines} height={160} />
          <Table label="Embeddings by model" rows={e.byModel} columns={columns} initial="calls" />
        </>
      )}
    </Panel>
  );
}

type IndexRow = PageMetrics['vectorSearch']['byIndex'][number];

function VectorSearch({ m }: { m: PageMetrics }) {
  const v = m.vectorSearch, p = m.previous?.vectorSearch;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lat = useMemo(() => quantLines(m.series.buckets, (b) => b.vectorSearchLatency), [m]);
  const rel = useMemo<Line[]>(() => [{ label: 'mean relevance', values: m.series.buckets.map((b) => b.meanRelevance), unit: score, color: '#59a14f' }], [m]);
  const columns: Column<IndexRow>[] = [
    { key: 'index', label: 'Index', value: (r) => r.index, render: (r) => <span class="bk-name" title={r.index}>{r.index || '(none)'}</span> },
    { key: 'searches', label: 'Searches', numeric: true, value: (r) => r.searches, render: (r) => num(r.searches) },
    ...quantCols<IndexRow>('lat', (r) => r.latency).filter((c) => c.key !== 'latp50'),
    { key: 'relevance', label: 'Relevance', numeric: true, value: (r) => r.meanRelevance, render: (r) => score(r.meanRelevance) },
  ];
  return (
    <Panel title="Vector search">
      {v.searches === 0 ? (
        <Empty
          what="No vector searches in this range. Record each query of a vector index, with the scores of its results:"
          snippet={sdk(`client.TrackVectorSearch(alidade.VectorSearch{Index: "lessons", Results: len(matches),
	Latency: time.Since(start), TopScore: matches[0].Score, MeanScore: mean(matches)})`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Searches" value={num(v.searches)} cur={v.searches} prev={p?.searches} testid="ai-vs-searches" />
            <Stat label="Latency p95" value={ms(v.latency.p95)} cur={v.latency.p95} prev={p?.latency?.p95} worse={1} />
            <Stat label="Mean relevance" value={score(v.meanRelevance)} cur={v.meanRelevance} prev={p?.meanRelevance} worse={-1} />
            <Stat label="Top relevance" value={score(v.topRelevance)} cur={v.topRelevance} prev={p?.topRelevance} worse={-1} />
          </Small>
          <Note>
            Relevance is the mean score of the results (0–1), over the searches that report one; top relevance is the best result's. A search returns{' '}
            {v.meanResults === null ? '–' : v.meanResults.toFixed(1)} results on average.
          </Note>
          <h3>Latency</h3>
          <Chart title="Vector search latency percentiles" times={t} lines={lat} height={140} />
          <h3>Relevance</h3>
          <Chart title="Vector search mean relevance" times={t} lines={rel} height={120} />
          <Table label="Vector search by index" rows={v.byIndex} columns={columns} initial="searches" />
        </>
      )}
    </Panel>
  );
}

type IntentRow = PageMetrics['intent']['byIntent'][number];

function Intent({ m }: { m: PageMetrics }) {
  const it = m.intent, p = m.previous?.intent;
  const t = useMemo(() => times(m.series.buckets), [m]);
  const lines = useMemo<Line[]>(() => [{ label: 'accuracy', values: m.series.buckets.map((b) => b.intentAccuracy), unit: (v) => pct(v, 1), color: '#59a14f' }], [m]);
  const columns: Column<IntentRow>[] = [
    { key: 'intent', label: 'Intent', value: (r) => r.intent, render: (r) => <span class="bk-name" title={r.intent}>{r.intent || '(none)'}</span> },
    { key: 'predictions', label: 'Predictions', numeric: true, value: (r) => r.predictions, render: (r) => num(r.predictions) },
    { key: 'labelled', label: 'Labelled', numeric: true, value: (r) => r.labelled, render: (r) => num(r.labelled) },
    { key: 'accuracy', label: 'Accuracy', numeric: true, value: (r) => r.accuracy, render: (r) => <Meter value={r.accuracy} /> },
    { key: 'labelledShare', label: 'Labelled %', numeric: true, value: (r) => r.labelledShare, render: (r) => pct(r.labelledShare, 1) },
  ];
  return (
    <Panel title="Intent accuracy" wide>
      {it.predictions === 0 ? (
        <Empty
          what="No intent predictions in this range. Record each prediction, and label it once the true intent is known:"
          snippet={sdk(`client.TrackIntent(alidade.Intent{Model: "intent-v2", Intent: predicted, ID: predictionID, Confidence: 0.93})
// later, when the user (or a reviewer) says what they meant:
client.LabelIntent(predictionID, actual)`)}
        />
      ) : (
        <>
          <Small>
            <Stat label="Accuracy" value={pct(it.accuracy, 1)} cur={it.accuracy} prev={p?.accuracy} worse={-1} testid="ai-intent-accuracy" />
            <Stat label="Predictions" value={num(it.predictions)} cur={it.predictions} prev={p?.predictions} />
            <Stat label="Labelled share" value={pct(it.labelledShare, 1)} cur={it.labelledShare} prev={p?.labelledShare} />
          </Small>
          <Note>Accuracy is the share of labelled predictions whose intent the label confirms; by predicted intent below.</Note>
          <div class="bk-charts bk-split">
            <div>
              <h3>Accuracy by intent</h3>
              <Table label="Intent accuracy by intent" rows={it.byIntent} columns={columns} initial="predictions" />
            </div>
            <div>
              <h3>Accuracy over time</h3>
              <Chart title="Intent accuracy" times={t} lines={lines} height={200} />
            </div>
          </div>
        </>
      )}
    </Panel>
  );
}
