// analyticsEngineDataset against a fake fetch: batching, routing, retries
// with one Idempotency-Key, ctx.waitUntil, warnings, query. The same binding
// against a real Alidade is workers.e2e.mjs (run by sdk/js/workers_test.go).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyticsEngineDataset } from '../build/test/esm/workers.js';

/** A fake fetch answering with answer(call, n); records calls. */
function fake(answer = () => ({ status: 200, body: { accepted: 1, rejected: [] } })) {
  const calls = [];
  const f = async (url, init) => {
    const call = { url, init, body: JSON.parse(init.body), headers: init.headers };
    calls.push(call);
    const a = answer(call, calls.length);
    if (a instanceof Error) throw a;
    return new Response(JSON.stringify(a.body ?? {}), { status: a.status, headers: a.headers });
  };
  return { calls, f };
}

const quiet = (t) => {
  const warnings = [];
  t.mock.method(console, 'warn', (...a) => warnings.push(a.join(' ')));
  return warnings;
};

test('writeDataPoint batches points into POST /api/v1/points with the write key', async (t) => {
  quiet(t);
  const { calls, f } = fake();
  const ds = analyticsEngineDataset({ url: 'http://alidade.test/', key: 'ald_write_x', dataset: 'requests', fetch: f });
  assert.equal(ds.writeDataPoint({ blobs: ['https://x/api/chat', 'POST'], doubles: [12.5, 200], indexes: ['POST /api/chat'] }), undefined);
  ds.writeDataPoint({ blobs: [new TextEncoder().encode('bytes').buffer, null], doubles: [1] });
  ds.writeDataPoint();
  assert.equal(calls.length, 0, 'batched');
  await ds.flush();
  assert.equal(calls.length, 1);
  const c = calls[0];
  assert.equal(c.url, 'http://alidade.test/api/v1/points');
  assert.equal(c.init.method, 'POST');
  assert.equal(c.headers.Authorization, 'Bearer ald_write_x');
  assert.match(c.headers['Idempotency-Key'], /^[0-9a-f-]{36}$/);
  assert.equal(c.body.length, 3);
  assert.deepEqual({ ...c.body[0], timestamp: 0 }, { dataset: 'requests', timestamp: 0, indexes: ['POST /api/chat'], blobs: ['https://x/api/chat', 'POST'], doubles: [12.5, 200] });
  assert.ok(Math.abs(c.body[0].timestamp - Date.now()) < 5000);
  assert.deepEqual(c.body[1].blobs, ['bytes', '']);
  assert.deepEqual(Object.keys(c.body[2]).sort(), ['dataset', 'timestamp']);
});

test("the seed's index values route to their datasets, unless routes say otherwise", async (t) => {
  quiet(t);
  const { calls, f } = fake();
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', fetch: f });
  ds.writeDataPoint({ blobs: ['llama'], doubles: [812, 900], indexes: ['ai_model'] });
  ds.writeDataPoint({ blobs: ['vector_search'], doubles: [8, 14], indexes: ['search_type'] });
  ds.writeDataPoint({ indexes: ['constructor'] });
  await ds.flush();
  assert.deepEqual(calls[0].body.map((p) => p.dataset), ['ai_usage', 'vector_search', 'requests']);
  const own = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'mine', routes: {}, fetch: f });
  own.writeDataPoint({ indexes: ['ai_model'] });
  await own.flush();
  assert.equal(calls[1].body[0].dataset, 'mine');
});

test('a full batch goes at once; the rest after flushInterval', async (t) => {
  quiet(t);
  const { calls, f } = fake();
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'd', fetch: f, batchSize: 2, flushInterval: 20 });
  for (let i = 0; i < 5; i++) ds.writeDataPoint({ doubles: [i] });
  await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(calls.map((c) => c.body.length), [2, 2]);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(calls.map((c) => c.body.length), [2, 2, 1]);
});

test('retries 5xx, 429 (after Retry-After) and network errors with the same Idempotency-Key', async (t) => {
  const warnings = quiet(t);
  const answers = [{ status: 503 }, new TypeError('fetch failed'), { status: 429, headers: { 'Retry-After': '0' } }, { status: 200, body: { accepted: 1, rejected: [] } }];
  const { calls, f } = fake((_, n) => answers[n - 1]);
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'd', fetch: f, tries: 4, retryDelay: 1 });
  ds.writeDataPoint({ doubles: [1] });
  await ds.flush();
  assert.equal(calls.length, 4);
  assert.equal(new Set(calls.map((c) => c.headers['Idempotency-Key'])).size, 1);
  assert.deepEqual(warnings, []);
  const down = fake(() => ({ status: 500, body: { error: { message: 'boom' } } }));
  const ds2 = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'd', fetch: down.f, tries: 2, retryDelay: 1 });
  ds2.writeDataPoint({ doubles: [1] });
  await ds2.flush();
  assert.equal(down.calls.length, 2);
  assert.match(warnings.join('\n'), /gave up sending points after 2 tries/);
});

test('retries 409 (a cluster node: another node writes the key) with the same Idempotency-Key', async (t) => {
  const warnings = quiet(t);
  const answers = [{ status: 409, headers: { 'Retry-After': '0' }, body: { error: { code: 'idempotency_key_in_progress', message: 'in progress' } } }, { status: 200, body: { accepted: 1, rejected: [] } }];
  const { calls, f } = fake((_, n) => answers[n - 1]);
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'd', fetch: f, tries: 4, retryDelay: 1 });
  ds.writeDataPoint({ doubles: [1] });
  await ds.flush();
  assert.equal(calls.length, 2);
  assert.equal(new Set(calls.map((c) => c.headers['Idempotency-Key'])).size, 1);
  assert.deepEqual(warnings, []);
});

test('a rejected point is reported once through console.warn, with the server hint', async (t) => {
  const warnings = quiet(t);
  const hint = 'point has 2 indexes; Analytics Engine accepts at most 1 index (AE drops such points silently). Combine them into one';
  const { f } = fake((c) => ({ status: c.body.length > 1 ? 200 : 400, body: { accepted: c.body.length - 1, rejected: [{ position: 0, error: hint }] } }));
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', fetch: f });
  for (let i = 0; i < 3; i++) {
    ds.writeDataPoint({ indexes: ['endpoint', 'status_code'] });
    ds.writeDataPoint({ indexes: ['x'] });
    await ds.flush();
    ds.writeDataPoint({ indexes: ['endpoint', 'status_code'] });
    await ds.flush();
  }
  assert.equal(warnings.length, 1, warnings.join('\n'));
  assert.match(warnings[0], /rejected a point of dataset "requests": point has 2 indexes.*Combine them/);
  const bad = fake(() => ({ status: 401, body: { error: { code: 'unauthorized', message: 'unknown key' } } }));
  const ds2 = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', fetch: bad.f });
  ds2.writeDataPoint({});
  await ds2.flush();
  ds2.writeDataPoint({});
  await ds2.flush();
  assert.equal(warnings.length, 2);
  assert.match(warnings[1], /refused 1 points \(401\): unknown key/);
});

test('with ctx, each batch is flushed inside ctx.waitUntil', async (t) => {
  quiet(t);
  const { calls, f } = fake();
  const waits = [];
  const ctx = { waitUntil: (p) => waits.push(p) };
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', ctx, fetch: f });
  ds.writeDataPoint({ doubles: [1] });
  ds.writeDataPoint({ doubles: [2] });
  assert.equal(waits.length, 1, 'one flush per turn');
  await Promise.all(waits);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].body.length, 2);
  ds.writeDataPoint({ doubles: [3] });
  assert.equal(waits.length, 2);
  await Promise.all(waits);
  assert.equal(calls.length, 2);
});

test('writeDataPoint never throws, and drops past maxBuffer with one warning', async (t) => {
  const warnings = quiet(t);
  const { calls, f } = fake();
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'd', fetch: f, maxBuffer: 3, batchSize: 100 });
  for (let i = 0; i < 10; i++) ds.writeDataPoint({ doubles: [i] });
  ds.writeDataPoint({ blobs: 'not a list' });
  ds.writeDataPoint({ indexes: [{ toString() { throw new Error('x'); } }] });
  await ds.flush();
  assert.equal(calls[0].body.length, 3);
  assert.equal(warnings.filter((w) => /dropping points/.test(w)).length, 1);
});

test("query posts the seed's {timeRange, aggregations} with the read key, routed, flattened", async (t) => {
  quiet(t);
  const { calls, f } = fake(() => ({ status: 200, body: { rows: [{ requestCount: 3, avgLatency: 10, errorRate: 33.3, aiTokensUsed: 812 }], meta: { source: 'raw' } } }));
  const ds = analyticsEngineDataset({ url: 'http://a', key: 'ald_write_x', readKey: 'ald_read_x', dataset: 'requests', fetch: f });
  const q = {
    timeRange: '24h',
    aggregations: {
      requestCount: { type: 'count' },
      aiTokensUsed: { type: 'sum', field: 'tokens', filter: { index: 'ai_model' } },
    },
  };
  const a = await ds.query(q);
  assert.equal(calls[0].url, 'http://a/api/v1/query');
  assert.equal(calls[0].headers.Authorization, 'Bearer ald_read_x');
  assert.deepEqual(calls[0].body, {
    dataset: 'requests',
    timeRange: '24h',
    aggregations: { requestCount: { type: 'count' }, aiTokensUsed: { type: 'sum', field: 'tokens', filter: { index: 'ai_model' }, dataset: 'ai_usage' } },
  });
  assert.equal(a.requestCount, 3);
  assert.equal(a.aiTokensUsed, 812);
  assert.equal(a.rows.length, 1);
  assert.equal(a.meta.source, 'raw');
  assert.deepEqual(q.aggregations.aiTokensUsed.dataset, undefined, "the caller's query is not changed");

  const empty = fake(() => ({ status: 200, body: { rows: [], meta: {} } }));
  const e = await analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', fetch: empty.f }).query(q);
  assert.deepEqual([e.requestCount, e.aiTokensUsed], [0, 0]);

  const bad = fake(() => ({ status: 400, body: { error: { message: 'query: aggregations.x.type: unknown' } } }));
  await assert.rejects(analyticsEngineDataset({ url: 'http://a', key: 'k', dataset: 'requests', fetch: bad.f }).query(q), /400: query: aggregations.x.type: unknown/);
});
