// The Workers binding against a real Alidade: the seed's WorkerAnalytics and
// MetricsAggregator, verbatim (fixtures/seed.ts, transpiled by esbuild), with
// env.ANALYTICS = analyticsEngineDataset({url, key, dataset: "requests"}).
// sdk/js/workers_test.go starts `alidade serve` and runs this with
//   ALIDADE_URL, ALIDADE_WRITE_KEY, ALIDADE_READ_KEY, SDK_DIR (the ESM build).
// By hand: node --test test/workers.e2e.mjs with those set (SDK_DIR defaults
// to build/test, which `npm test` builds).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { transformSync } from 'esbuild';

const url = process.env.ALIDADE_URL;
const writeKey = process.env.ALIDADE_WRITE_KEY;
const readKey = process.env.ALIDADE_READ_KEY;
const sdkDir = resolve(process.env.SDK_DIR || new URL('../build/test', import.meta.url).pathname);
const skip = !url || !writeKey || !readKey ? 'set ALIDADE_URL, ALIDADE_WRITE_KEY and ALIDADE_READ_KEY (sdk/js/workers_test.go does)' : false;

/** The seed's classes, as a module. */
async function seed() {
  const ts = readFileSync(new URL('./fixtures/seed.ts', import.meta.url), 'utf8');
  const js = transformSync(ts, { loader: 'ts', format: 'esm' }).code;
  return import('data:text/javascript;base64,' + Buffer.from(js).toString('base64'));
}

/** POST /api/v1/query with the read key. */
async function query(q) {
  const r = await fetch(url + '/api/v1/query', { method: 'POST', headers: { Authorization: 'Bearer ' + readKey }, body: JSON.stringify(q) });
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  return body.rows;
}

test("the seed's WorkerAnalytics and MetricsAggregator, unchanged, against Alidade", { skip }, async (t) => {
  const warnings = [];
  t.mock.method(console, 'warn', (...a) => warnings.push(a.join(' ')));
  const { analyticsEngineDataset } = await import(pathToFileURL(resolve(sdkDir, 'esm/workers.js')).href);
  const { WorkerAnalytics, MetricsAggregator } = await seed();

  const env = { ANALYTICS: analyticsEngineDataset({ url, key: writeKey, readKey, dataset: 'requests' }) };
  const analytics = new WorkerAnalytics(env);
  const request = new Request(url + '/api/chat', { method: 'POST' });
  const response = new Response('{}', { status: 201 });
  for (let i = 0; i < 3; i++) await analytics.logRequest(request, response, 12.5);
  await analytics.trackAIUsage('@cf/meta/llama-3.1-8b-instruct', 812, 900);
  await analytics.trackAIUsage('@cf/meta/llama-3.1-8b-instruct', 188, 450);
  await analytics.trackVectorSearch('how do cells divide?', 8, 14);
  await env.ANALYTICS.flush();

  // logRequest passes two indexes: AE drops such points silently, Alidade
  // rejects them, and the binding says so once, with the server's hint.
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /rejected a point of dataset "requests": point has 2 indexes.*Combine them into one/);

  const [ai] = await query({ dataset: 'ai_usage', range: '1h', filter: { index: 'ai_model' }, aggregations: { n: { type: 'count' }, tokens: { type: 'sum', field: 'tokens' }, latency: { type: 'max', field: 'latency' } } });
  assert.deepEqual(ai, { n: 2, tokens: 1000, latency: 900 });
  const [models] = await query({ dataset: 'ai_usage', range: '1h', groupBy: ['model'], aggregations: { n: { type: 'count' } } });
  assert.equal(models.model, '@cf/meta/llama-3.1-8b-instruct');
  const [vs] = await query({ dataset: 'vector_search', range: '1h', aggregations: { n: { type: 'count' }, results: { type: 'sum', field: 'results' }, latency: { type: 'avg', field: 'latency' } } });
  assert.deepEqual(vs, { n: 1, results: 8, latency: 14 });
  const [req] = await query({ dataset: 'requests', range: '1h', aggregations: { n: { type: 'count' } } });
  assert.equal(req ? req.n : 0, 0, 'the rejected points are not stored');

  // The README's one-index logRequest lands in requests.
  env.ANALYTICS.writeDataPoint({ blobs: [request.url, request.method], doubles: [12.5, response.status], indexes: ['POST /api/chat'] });
  await env.ANALYTICS.flush();
  const [fixed] = await query({ dataset: 'requests', range: '1h', groupBy: ['endpoint', 'method'], aggregations: { n: { type: 'count' }, d: { type: 'avg', field: 'duration' }, s: { type: 'max', field: 'status' } } });
  assert.deepEqual(fixed, { endpoint: 'POST /api/chat', method: 'POST', n: 1, d: 12.5, s: 201 });

  // The seed's MetricsAggregator reads through the same binding's query().
  const aggregator = new MetricsAggregator();
  aggregator.env = env;
  aggregator.calculateAICost = (tokens) => tokens * 0.000001;
  const m = await aggregator.getMetrics('1h');
  assert.deepEqual(m, { requests: 1, latency: 12.5, errorRate: 0, aiUsage: { tokens: 1000, cost: 0.001 } });
  assert.equal(warnings.length, 1);
});

test('with ctx, points are flushed inside ctx.waitUntil', { skip }, async () => {
  const { analyticsEngineDataset } = await import(pathToFileURL(resolve(sdkDir, 'esm/workers.js')).href);
  const waits = [];
  const ctx = { waitUntil: (p) => waits.push(p) };
  const ds = analyticsEngineDataset({ url, key: writeKey, dataset: 'grade_passback', ctx });
  ds.writeDataPoint({ blobs: ['canvas', '', 'bio-101'], doubles: [1, 346, 1, 0.9], indexes: ['canvas'] });
  ds.writeDataPoint({ blobs: ['canvas', 'timeout', 'bio-101'], doubles: [0, 5000, 1, 0.9], indexes: ['canvas'] });
  assert.equal(waits.length, 1);
  await Promise.all(waits);
  const [g] = await query({ dataset: 'grade_passback', range: '1h', groupBy: ['platform_name'], aggregations: { n: { type: 'count' }, ok: { type: 'sum', field: 'success' } } });
  assert.deepEqual(g, { platform_name: 'canvas', n: 2, ok: 1 });
});
