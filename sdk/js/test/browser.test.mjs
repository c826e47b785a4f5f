// Unit tests of the script tag's bundle (build/test/alidade.min.js, built
// by `npm test` exactly as dist/alidade.min.js is) in a DOM stub.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { transformSync } from 'esbuild';
import { legacy_createStore } from 'redux';
import { Element, page, settle } from './dom.mjs';

const KEY = 'ald_public_test';
const tag = (extra = {}) => ({ 'data-key': KEY, ...extra });
const load = (opts = {}) => page({ ...opts, attrs: tag(opts.attrs) }).load();
const of = (p, type) => p.sent().filter((e) => e.type === type);

test('one tag: endpoint from the script origin, the key in a text/plain body, keepalive, no credentials', async () => {
  const p = load();
  await p.tick(2000);
  assert.equal(p.fetches.length, 1);
  const f = p.fetches[0];
  assert.equal(f.url, 'https://alidade.example:8080/api/v1/events');
  assert.equal(typeof f.body, 'string'); // a string body is text/plain: no CORS preflight
  assert.equal(f.init.headers, undefined);
  assert.equal(f.init.method, 'POST');
  assert.equal(f.init.keepalive, true);
  assert.equal(f.init.credentials, 'omit');
  assert.equal(JSON.parse(f.body).key, KEY);
});

test('data-endpoint is used as it is', async () => {
  const p = load({ attrs: { 'data-endpoint': 'https://site.example/_a/e' } });
  p.window.alidade.flush();
  assert.equal(p.fetches[0].url, 'https://site.example/_a/e');
});

test('the landing page view: referrer, UTM kept, other query and the fragment dropped', async () => {
  const p = load();
  p.window.alidade.flush();
  const [pv] = of(p, 'pageview');
  assert.equal(pv.url, 'https://site.example/lessons/7?utm_source=news');
  assert.equal(pv.referrer, 'https://google.com/');
  assert.equal(pv.timestamp, p.now);
  assert.equal(p.bodies()[0].sentAt, p.now);
  const keep = load({ attrs: { 'data-keep-query': '' } });
  keep.window.alidade.flush();
  assert.equal(of(keep, 'pageview')[0].url, 'https://site.example/lessons/7?utm_source=news&token=secret');
});

test('SPA navigations: pushState, popstate; replaceState of the same page is not a view', async () => {
  const p = load();
  p.run(`history.pushState({}, '', '/lessons/8')`);
  p.run(`history.replaceState({x: 1}, '', '/lessons/8?token=2')`); // same page once cleaned
  p.run(`history.replaceState({}, '', '/lessons/9')`);
  p.run(`history.pushState({}, '', '/lessons/9#part2')`); // the fragment is not a page
  p.run(`location.href = 'https://site.example/lessons/7'`);
  p.win.dispatch('popstate');
  p.window.alidade.flush();
  const urls = of(p, 'pageview').map((e) => e.url);
  assert.deepEqual(urls, [
    'https://site.example/lessons/7?utm_source=news',
    'https://site.example/lessons/8',
    'https://site.example/lessons/9',
    'https://site.example/lessons/7',
  ]);
  assert.equal(of(p, 'pageview')[1].referrer, undefined, 'only the landing view has the referrer');
});

test('hash routing: the fragment is part of the page and hashchange a navigation', async () => {
  const p = load({ url: 'https://site.example/app#/lessons/7', attrs: { 'data-hash': 'true' } });
  p.run(`location.href = 'https://site.example/app#/lessons/8'; location.hash = '#/lessons/8'`);
  p.win.dispatch('hashchange');
  p.window.alidade.flush();
  assert.deepEqual(
    of(p, 'pageview').map((e) => e.url),
    ['https://site.example/app#/lessons/7', 'https://site.example/app#/lessons/8'],
  );
});

test("the seed's AnalyticsService runs verbatim on the zaraz shim", async () => {
  const js = transformSync(readFileSync(new URL('./fixtures/seed.ts', import.meta.url), 'utf8'), { loader: 'ts', format: 'cjs' }).code;
  const store = legacy_createStore(() => ({ auth: { user: { id: 'u-42' } }, session: { id: 's-9' } }));
  const p = load({ attrs: { 'data-pageviews': 'false' }, setup: (w) => (w.store = store) });
  p.run(`var module = {exports: {}}, exports = module.exports;` + js + `; globalThis.seed = module.exports`);
  p.run(`const a = new seed.AnalyticsService();
    a.trackPageView('/lessons/7');
    a.trackApiCall('GET /api/lessons/:id', 84, 200);
    a.trackEvent('chat_message', {course: 'bio'});`);
  p.window.alidade.flush();
  const [pv, api, ev] = p.sent();
  assert.equal(pv.type, 'pageview');
  assert.equal(pv.url, 'https://site.example/lessons/7');
  assert.equal(pv.props.path, '/lessons/7');
  assert.equal(pv.props.user_id, 'u-42');
  assert.equal(pv.props.session_id, 's-9');
  assert.match(pv.props.timestamp, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(
    { type: api.type, endpoint: api.endpoint, duration: api.duration, status: api.status, success: api.success },
    { type: 'api_call', endpoint: 'GET /api/lessons/:id', duration: 84, status: 200, success: true },
  );
  assert.equal(ev.type, 'event');
  assert.equal(ev.name, 'chat_message');
  assert.equal(ev.props.course, 'bio');
  assert.equal(ev.props.session_id, 's-9');
  assert.equal(ev.url, 'https://site.example/lessons/7?utm_source=news');
});

test('the fixture is still the seed, verbatim', (t) => {
  const seedPath = new URL('../../../../shared/seed/monitoring-and-observability.md', import.meta.url);
  let md;
  try {
    md = readFileSync(seedPath, 'utf8');
  } catch {
    return t.skip('no ../shared beside the repository');
  }
  const blocks = md.split('```typescript\n').slice(1).map((b) => b.split('```')[0]);
  const fixture = readFileSync(new URL('./fixtures/seed.ts', import.meta.url), 'utf8');
  for (const b of blocks) assert.ok(fixture.includes(b), 'fixtures/seed.ts differs from the seed');
});

test('zaraz.set, zaraz.ecommerce, and a real zaraz is left alone', async () => {
  const p = load();
  p.run(`zaraz.set('plan', 'pro'); zaraz.track('signup', {step: 2}); zaraz.set('plan', undefined); zaraz.track('x');
    zaraz.ecommerce('Order Completed', {revenue: 20})`);
  p.window.alidade.flush();
  const evs = of(p, 'event');
  assert.deepEqual(evs[0].props, { plan: 'pro', step: 2 });
  assert.deepEqual(evs[1].props, {});
  assert.equal(evs[2].name, 'Order Completed');
  assert.equal(evs[2].props.revenue, 20);
  assert.ok(p.run(`zaraz.track('a') instanceof Promise`));

  const real = { track() {}, real: true };
  const q = load({ setup: (w) => (w.zaraz = real) });
  assert.equal(q.window.zaraz, real);
  const off = load({ attrs: { 'data-zaraz': 'false' } });
  assert.equal(off.window.zaraz, undefined);
});

test('an automatic and a manual view of one page within a second count once', async () => {
  const p = load();
  p.run(`history.pushState({}, '', '/lessons/8'); zaraz.track('page_view', {path: '/lessons/8', user_id: 'u'})`);
  await p.tick(1500);
  p.run(`alidade.pageview('/lessons/8')`); // later: a view of its own
  p.window.alidade.flush();
  assert.deepEqual(
    of(p, 'pageview').map((e) => e.url),
    ['https://site.example/lessons/7?utm_source=news', 'https://site.example/lessons/8', 'https://site.example/lessons/8'],
  );
});

test('alidade.track, apiCall, error, send', async () => {
  const p = load();
  p.run(`alidade.track('assessment_submitted', {score: 9});
    alidade.apiCall('POST /api/chat', 120.5, 500, {method: 'POST'});
    alidade.error(new RangeError('bad range'));
    alidade.send({type: 'websocket', kind: 'close', channel: 'chat', code: 1006, duration: 52000})`);
  p.window.alidade.flush();
  const [ev, api, err, ws] = p.sent().slice(1);
  assert.deepEqual([ev.name, ev.props.score], ['assessment_submitted', 9]);
  assert.deepEqual([api.endpoint, api.duration, api.status, api.method], ['POST /api/chat', 120.5, 500, 'POST']);
  assert.deepEqual([err.errorType, err.message], ['RangeError', 'bad range']);
  assert.match(err.stack, /RangeError: bad range/);
  assert.deepEqual([ws.kind, ws.code, ws.duration], ['close', 1006, 52000]);
});

test('error and unhandledrejection, with stacks; at most 25 a page', async () => {
  const p = load();
  const e = p.run(`new TypeError('x is undefined')`);
  p.win.dispatch('error', { message: 'x is undefined', error: e, filename: 'app.js', lineno: 1, colno: 2 });
  p.win.dispatch('error', { message: 'Script error.', error: null });
  p.win.dispatch('unhandledrejection', { reason: p.run(`new Error('no answer')`) });
  p.win.dispatch('unhandledrejection', { reason: 'timeout' });
  for (let i = 0; i < 40; i++) p.win.dispatch('error', { message: 'loop', error: null });
  p.window.alidade.flush();
  await settle();
  const errs = of(p, 'error');
  assert.equal(errs.length, 25);
  assert.deepEqual(
    [errs[0].errorType, errs[0].message, errs[0].source, errs[0].line, errs[0].column],
    ['TypeError', 'x is undefined', 'app.js', 1, 2],
  );
  assert.match(errs[0].stack, /TypeError: x is undefined/);
  assert.deepEqual([errs[1].errorType, errs[1].message], ['Error', 'Script error.']);
  assert.deepEqual([errs[2].errorType, errs[2].message], ['Error', 'no answer']);
  assert.deepEqual([errs[3].errorType, errs[3].message, errs[3].stack], ['UnhandledRejection', 'timeout', undefined]);
});

test('interactions on elements marked data-alidade-event', async () => {
  const p = load();
  const btn = new Element('button', { 'data-alidade-event': 'chat_message', 'data-alidade-prop-course': 'bio' }, p.body);
  const icon = new Element('svg', {}, btn);
  const form = new Element('form', { 'data-alidade-event': 'assessment_submit', 'data-alidade-prop-quiz': '3' }, p.body);
  const submit = new Element('button', {}, form);
  const plain = new Element('a', {}, p.body);
  icon.click(p.document);
  submit.click(p.document); // the click inside the form is not the form's event
  form.click(p.document, 'submit');
  plain.click(p.document);
  p.window.alidade.flush();
  assert.deepEqual(
    of(p, 'event').map((e) => [e.name, e.props]),
    [
      ['chat_message', { course: 'bio' }],
      ['assessment_submit', { quiz: '3' }],
    ],
  );
});

test('batching: one request per 2 s or per 50 events; sendBeacon when the page is hidden', async () => {
  const p = load();
  await p.tick(1999);
  assert.equal(p.fetches.length, 0, 'the first event waits for others');
  await p.tick(1);
  assert.equal(p.fetches.length, 1);
  for (let i = 0; i < 120; i++) p.run(`alidade.track('e${i}')`);
  await settle();
  assert.equal(p.fetches.length, 2, 'a full batch goes at once; one request in flight');
  await p.tick(0);
  assert.equal(p.fetches.length, 4, 'the rest follows as soon as the last answer came');
  assert.deepEqual(p.bodies().map((b) => b.events.length), [1, 50, 50, 20]);
  p.run(`alidade.track('before-hide')`);
  await p.hide();
  assert.equal(p.beacons.length, 1);
  assert.equal(p.beacons[0].url, 'https://alidade.example:8080/api/v1/events');
  assert.equal(typeof p.beacons[0].body, 'string');
  p.run(`alidade.track('while-hidden-1'); alidade.track('while-hidden-2')`);
  await settle();
  assert.equal(p.beacons.length, 2, 'events while hidden go at once, together');
  assert.deepEqual(JSON.parse(p.beacons[1].body).events.map((e) => e.name), ['while-hidden-1', 'while-hidden-2']);
  p.win.dispatch('pagehide');
  assert.equal(p.sent().length, 1 + 120 + 1 + 2);
});

test('a refused sendBeacon falls back to fetch keepalive', async () => {
  const p = page({ attrs: tag(), beaconFails: true }).load();
  await p.hide();
  assert.equal(p.fetches.length, 1);
  assert.equal(p.fetches[0].init.keepalive, true);
});

test('retries with backoff on 5xx, 429 and network errors; 4xx is dropped; bounded', async () => {
  const answers = [{ status: 503 }, new TypeError('offline'), { status: 429 }, { status: 202, body: { accepted: 1, rejected: [] } }];
  const p = load({ respond: (_, n) => answers[n - 1] || { status: 202, body: {} } });
  await p.tick(2000);
  for (let i = 0; i < 6; i++) await p.tick(60000);
  const bodies = p.bodies();
  assert.equal(bodies.length, 4);
  assert.ok(bodies.every((b) => JSON.stringify(b.events) === JSON.stringify(bodies[0].events)), 'the same events, again');
  assert.ok(bodies[3].sentAt > bodies[0].sentAt, 'sentAt is the time of each attempt: the server dates events by it');

  const bad = load({ attrs: { 'data-debug': '' }, respond: () => ({ status: 400, body: { error: { message: 'bad' } } }) });
  await bad.tick(2000);
  await bad.tick(120000);
  assert.equal(bad.fetches.length, 1, 'a 400 is not retried');
  assert.ok(bad.logs.some((l) => l[0] === 'warn' && JSON.stringify(l).includes('bad')), 'debug shows the answer');

  const down = load({ respond: () => ({ status: 500 }) });
  for (let i = 0; i < 300; i++) down.run(`alidade.track('e${i}')`);
  for (let i = 0; i < 10; i++) await down.tick(60000);
  assert.equal(down.fetches.length, 6 * 4, 'each batch given up after 5 retries, then the next');
  assert.ok(down.fetches.every((f) => JSON.parse(f.body).events.length <= 50));
  assert.ok(!down.logs.some((l) => l[0] === 'warn'), 'silent without data-debug');
});

test('Do Not Track and Global Privacy Control, when data-respect-dnt asks', async () => {
  for (const nav of [{ doNotTrack: '1' }, { globalPrivacyControl: true }]) {
    const p = load({ attrs: { 'data-respect-dnt': '' }, navigator: nav });
    p.run(`alidade.track('x'); zaraz.track('y')`);
    await p.tick(5000);
    await p.hide();
    assert.equal(p.sent().length, 0);
    assert.equal(p.window.alidade.enabled, false);
    const q = load({ navigator: nav });
    q.window.alidade.flush();
    assert.equal(q.sent().length, 1, 'without data-respect-dnt, sent');
  }
});

test('localhost and webdriver are ignored unless allowed', async () => {
  for (const url of ['http://localhost:3000/', 'http://127.0.0.1/', 'http://[::1]:8080/', 'http://app.localhost/', 'file:///tmp/x.html']) {
    const p = load({ url });
    p.run(`alidade.track('x')`);
    await p.hide();
    assert.equal(p.sent().length, 0, url);
    assert.ok(p.logs.some((l) => l[0] === 'info' && /allow-localhost/.test(l[1])), 'says why on the console');
    const q = load({ url, attrs: { 'data-allow-localhost': '' } });
    q.window.alidade.flush();
    assert.equal(q.sent().length, 1, url + ' allowed');
  }
  const w = load({ navigator: { webdriver: true } });
  w.window.alidade.flush();
  assert.equal(w.sent().length, 0);
  assert.ok(!w.logs.length, 'silent on a real site');
  const wa = load({ navigator: { webdriver: true }, attrs: { 'data-allow-webdriver': 'true' } });
  wa.window.alidade.flush();
  assert.equal(wa.sent().length, 1);
});

test('data- switches turn automatic parts off', async () => {
  const p = load({ attrs: { 'data-pageviews': 'false', 'data-errors': 'no', 'data-interactions': '0', 'data-vitals': 'off' } });
  p.win.dispatch('error', { message: 'x', error: null });
  new Element('button', { 'data-alidade-event': 'b' }, p.body).click(p.document);
  p.run(`history.pushState({}, '', '/x')`);
  p.window.alidade.flush();
  assert.equal(p.sent().length, 0);
});

test('identify: SHA-256 of key:id on later events, never the id; null forgets', async () => {
  const p = load();
  await p.run(`alidade.identify('alice@example.com')`);
  p.run(`alidade.track('a')`);
  await p.run(`alidade.identify(null)`);
  p.run(`alidade.track('b')`);
  p.window.alidade.flush();
  const [, a, b] = p.sent();
  assert.equal(a.user, createHash('sha256').update(KEY + ':alice@example.com').digest('hex').slice(0, 32));
  assert.equal(b.user, undefined);
  assert.ok(!p.fetches[0].body.includes('alice'));
});

test('never throws into the page, and never touches cookies or storage', async () => {
  const p = load({
    respond: () => {
      throw new Error('fetch blew up');
    },
  });
  p.run(`alidade.track(); alidade.track(Symbol('s')); alidade.pageview('http://[bad'); alidade.apiCall();
    alidade.error(); alidade.error(null); alidade.identify({toString() { throw 1 }}); alidade.send(null);
    zaraz.track(); zaraz.track('page_view', null); zaraz.set(); zaraz.ecommerce();
    const o = {}; o.self = o; alidade.track('cyclic', o);`);
  p.win.dispatch('unhandledrejection', { reason: undefined });
  p.win.dispatch('unhandledrejection', {});
  p.win.dispatch('popstate');
  await p.tick(2000);
  await p.tick(600000);
  await p.hide();
  p.win.dispatch('pagehide');
  assert.deepEqual(p.storage, []);
  // A whole session, too.
  const q = load();
  q.run(`history.pushState({}, '', '/a'); zaraz.track('page_view', {path: '/a'}); alidade.identify('u')`);
  await q.tick(5000);
  await q.hide();
  assert.deepEqual(q.storage, []);
});

test('loading the tag twice keeps the first', () => {
  const p = load();
  const first = p.window.alidade;
  p.load();
  assert.equal(p.window.alidade, first);
});

test('a missing data-key sends nothing and breaks nothing', async () => {
  const p = page({ attrs: {} }).load();
  p.run(`alidade.track('x'); zaraz.track('y')`);
  await p.tick(5000);
  assert.equal(p.sent().length, 0);
});

test('data-forward-console: console.error and console.warn become log events, at most 25 a page, and still print', async () => {
  const off = load();
  off.run(`console.error('not forwarded')`);
  off.window.alidade.flush();
  assert.equal(of(off, 'log').length, 0);

  const p = load({ attrs: { 'data-forward-console': 'error warn' } });
  p.run(`console.error('payment failed:', 42, new Error('declined'))`);
  p.run(`console.warn('slow')`);
  p.run(`console.info('not forwarded')`);
  p.run(`for (let i = 0; i < 100; i++) console.error('loop', i)`);
  p.window.alidade.flush();
  await p.tick(3000);
  p.window.alidade.flush();
  const logs = of(p, 'log');
  assert.equal(logs.length, 25);
  assert.deepEqual(logs.slice(0, 2).map((e) => [e.level, e.message]), [
    ['error', 'payment failed: 42 Error: declined'],
    ['warn', 'slow'],
  ]);
  assert.equal(logs[0].url, 'https://site.example/lessons/7?utm_source=news');
  // The console printed everything.
  assert.equal(p.logs.filter((l) => l[0] === 'error').length, 101);
  assert.equal(p.logs.filter((l) => l[0] === 'warn').length, 1);
});
