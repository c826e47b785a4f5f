// The opt-in helpers of the ESM build (build/test/esm): the fetch wrapper,
// the Redux / RTK Query middleware and the WebSocket wrapper, in Node
// against local HTTP and WebSocket servers.
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { configureStore, createSlice } from '@reduxjs/toolkit';
import { createApi, fetchBaseQuery } from '@reduxjs/toolkit/query';
import { WebSocket, WebSocketServer } from 'ws';
import { alidadeMiddleware, endpointOf, init, instrumentFetch, trackWebSocket, wrapFetch, wrapWebSocket } from '../build/test/esm/index.js';

let server;
let base;
let wss;
let wsURL;

before(async () => {
  server = http.createServer((req, res) => {
    const status = req.url.startsWith('/api/broken') ? 500 : 200;
    setTimeout(() => {
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ path: req.url }));
    }, 15);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${server.address().port}`;
  wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) =>
    ws.on('message', (m) => {
      const s = String(m);
      if (s === 'bye') ws.close(4001, 'done');
      else ws.send('echo ' + s);
    }),
  );
  await new Promise((r) => wss.on('listening', r));
  wsURL = `ws://127.0.0.1:${wss.address().port}/ws/chat`;
});

after(() => {
  server.close();
  wss.close();
});

const recorder = () => {
  const events = [];
  return { events, send: (e) => events.push(e) };
};

test('init outside a browser (server-side rendering) is inert', async () => {
  const a = init({ key: 'ald_public_x' });
  assert.equal(a.enabled, false);
  a.track('x');
  a.pageview();
  await a.identify('u');
  assert.equal(globalThis.alidade, undefined);
});

test('endpointOf names endpoints without ids', () => {
  const cases = [
    ['get', 'http://h.example/api/lessons/7', 'GET h.example/api/lessons/:id'],
    ['POST', 'http://h.example/api/users/3f2b8c1e-1b2c-4d5e-8f90-123456789abc/grades?x=1', 'POST h.example/api/users/:id/grades'],
    ['GET', 'http://h.example/api/files/9f86d081884c7d65', 'GET h.example/api/files/:id'],
    ['GET', 'http://h.example/api/t/ab12CD34ef56GH78ij90', 'GET h.example/api/t/:id'],
    ['GET', 'http://h.example/api/lessons/intro-to-biology', 'GET h.example/api/lessons/intro-to-biology'],
  ];
  for (const [m, u, want] of cases) assert.equal(endpointOf(m, u), want, u);
});

test('wrapFetch records api_call with endpoint, method, requestUrl, duration and status', async () => {
  const r = recorder();
  const f = wrapFetch(fetch, { client: r });
  const res = await f(`${base}/api/lessons/7?secret=1`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { path: '/api/lessons/7?secret=1' });
  await f(new Request(`${base}/api/broken`, { method: 'POST', body: 'x' }));
  await assert.rejects(f('http://127.0.0.1:1/api/down'));
  await f(`${base}/api/v1/events`, { method: 'POST', body: '{}' });
  await new Promise((r) => setTimeout(r, 10));
  const host = new URL(base).host;
  assert.deepEqual(
    r.events.map((e) => [e.type, e.endpoint, e.method, e.requestUrl, e.status]),
    [
      ['api_call', `GET ${host}/api/lessons/:id`, 'GET', `${base}/api/lessons/7`, 200],
      ['api_call', `POST ${host}/api/broken`, 'POST', `${base}/api/broken`, 500],
      ['api_call', 'GET 127.0.0.1:1/api/down', 'GET', 'http://127.0.0.1:1/api/down', 0],
    ],
  );
  assert.ok(r.events[0].duration >= 10, `duration ${r.events[0].duration}`);
});

test('instrumentFetch sends through window.alidade and puts fetch back', async () => {
  const r = recorder();
  globalThis.alidade = r;
  const orig = globalThis.fetch;
  const restore = instrumentFetch({ endpoint: (m) => m + ' lessons', ignore: (m, u) => u.includes('skip') });
  try {
    await fetch(`${base}/api/lessons/1`);
    await fetch(`${base}/api/skip`);
  } finally {
    restore();
    delete globalThis.alidade;
  }
  assert.equal(globalThis.fetch, orig);
  assert.deepEqual(r.events.map((e) => e.endpoint), ['GET lessons']);
});

test('the Redux middleware: RTK Query calls as api_call, actions as action', async () => {
  const r = recorder();
  const api = createApi({
    baseQuery: fetchBaseQuery({ baseUrl: base }),
    endpoints: (b) => ({
      getLesson: b.query({ query: (id) => `/api/lessons/${id}` }),
      broken: b.query({ query: () => '/api/broken' }),
      send: b.mutation({ query: (body) => ({ url: '/api/chat', method: 'POST', body }) }),
    }),
  });
  const chat = createSlice({ name: 'chat', initialState: { n: 0 }, reducers: { send: (s) => void s.n++ } });
  const store = configureStore({
    reducer: { [api.reducerPath]: api.reducer, chat: chat.reducer },
    middleware: (gdm) => gdm().concat(api.middleware, alidadeMiddleware({ client: r })),
  });
  await store.dispatch(api.endpoints.getLesson.initiate(7));
  await store.dispatch(api.endpoints.getLesson.initiate(7)); // cached: no call
  await store.dispatch(api.endpoints.broken.initiate());
  await store.dispatch(api.endpoints.send.initiate({ text: 'hi' }));
  store.dispatch(chat.actions.send());
  const host = new URL(base).host;
  const calls = r.events.filter((e) => e.type === 'api_call');
  assert.deepEqual(
    calls.map((e) => [e.endpoint, e.method, e.rtkEndpoint, e.status, e.requestUrl]),
    [
      [`GET ${host}/api/lessons/:id`, 'GET', 'getLesson', 200, `${base}/api/lessons/7`],
      [`GET ${host}/api/broken`, 'GET', 'broken', 500, `${base}/api/broken`],
      [`POST ${host}/api/chat`, 'POST', 'send', 200, `${base}/api/chat`],
    ],
  );
  assert.ok(calls.every((e) => e.duration >= 10), JSON.stringify(calls));
  const actions = r.events.filter((e) => e.type === 'action');
  assert.deepEqual(actions.map((e) => e.action), ['chat/send'], 'RTK Query and Redux bookkeeping is not timed');
  assert.ok(actions[0].duration >= 0);
});

test('the Redux middleware with plain redux and options', async () => {
  const { legacy_createStore, applyMiddleware } = await import('redux');
  const r = recorder();
  const store = legacy_createStore((s = 0, a) => (a.type === 'inc' ? s + 1 : s), applyMiddleware(alidadeMiddleware({ client: r, ignore: /^noise/ })));
  store.dispatch({ type: 'inc' });
  store.dispatch({ type: 'noise/tick' });
  assert.deepEqual(r.events.map((e) => e.action), ['inc']);
  const none = recorder();
  const quiet = legacy_createStore((s = 0) => s, applyMiddleware(alidadeMiddleware({ client: none, minDuration: 1000 })));
  quiet.dispatch({ type: 'fast' });
  assert.deepEqual(none.events, []);
  assert.throws(() => legacy_createStore(() => {
    throw new Error('reducer');
  }, applyMiddleware(alidadeMiddleware({ client: none }))), /reducer/);
});

const waitFor = async (cond) => {
  for (let i = 0; i < 200 && !cond(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(cond());
};

test('the WebSocket wrapper: open, close code, session length, messages, reconnects, errors', async () => {
  const r = recorder();
  const WS = wrapWebSocket(WebSocket, { client: r, channel: 'chat' });
  const a = new WS(wsURL);
  await new Promise((ok) => a.addEventListener('open', ok));
  a.send('one');
  a.send('two');
  await waitFor(() => r.events.length >= 1);
  await new Promise((ok) => setTimeout(ok, 30));
  a.send('bye'); // the server closes with 4001
  await waitFor(() => r.events.some((e) => e.kind === 'close'));
  const b = new WS(wsURL); // a reconnect
  await new Promise((ok) => b.addEventListener('open', ok));
  b.close(1000);
  await waitFor(() => r.events.filter((e) => e.kind === 'close').length === 2);
  const plain = trackWebSocket(new WebSocket('ws://127.0.0.1:1/ws/x'), { client: r });
  await waitFor(() => r.events.filter((e) => e.kind === 'close').length === 3);
  assert.equal(plain.readyState, 3);

  const [open1, close1, open2, close2, err, close3] = r.events;
  assert.deepEqual([open1.type, open1.kind, open1.channel, open1.reconnect], ['websocket', 'open', 'chat', undefined]);
  assert.deepEqual([close1.kind, close1.code, close1.reason, close1.messagesOut, close1.messagesIn], ['close', 4001, 'done', 3, 2]);
  assert.ok(close1.duration >= 30, `duration ${close1.duration}`);
  assert.deepEqual([open2.kind, open2.attempt, open2.reconnect], ['open', 1, true]);
  assert.deepEqual([close2.code, close2.wasClean], [1000, true]);
  assert.deepEqual([err.kind, err.channel], ['error', '/ws/x']);
  assert.match(err.error, /ECONNREFUSED/);
  assert.deepEqual([close3.code, close3.duration], [1006, 0]);
});
