// Core Web Vitals through web-vitals (standard build) in the DOM stub, fed
// performance entries by a PerformanceObserver stub: the values, ratings,
// navigation types and the attribution selectors derived from the entries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Element, page } from './dom.mjs';

/** A page with a PerformanceObserver stub; emit(type, entries) feeds it. */
function vitalsPage(attrs = {}) {
  const observers = [];
  class PerformanceObserver {
    static supportedEntryTypes = ['largest-contentful-paint', 'layout-shift', 'paint', 'event', 'first-input', 'navigation'];
    constructor(cb) {
      this.cb = cb;
      this.types = new Set();
      observers.push(this);
    }
    observe(o) {
      this.types.add(o.type);
    }
    disconnect() {
      this.types.clear();
    }
    takeRecords() {
      return [];
    }
  }
  function PerformanceEventTiming() {}
  PerformanceEventTiming.prototype.interactionId = 0;
  const nav = { entryType: 'navigation', type: 'reload', name: 'https://site.example/lessons/7?utm_source=news&token=secret', startTime: 0, responseStart: 180, activationStart: 0 };
  const p = page({
    attrs: { 'data-key': 'ald_public_test', ...attrs },
    globals: { PerformanceObserver, PerformanceEventTiming, queueMicrotask },
    setup: (w) => {
      w.performance.getEntriesByType = (t) => (t === 'navigation' ? [nav] : []);
      w.performance.getEntriesByName = () => [];
    },
  });
  p.emit = (type, entries) => {
    for (const o of observers) if (o.types.has(type)) o.cb({ getEntries: () => entries.map((e) => ({ entryType: type, duration: 0, ...e })) });
  };
  return p.load();
}

test('LCP, CLS, INP, FCP, TTFB and FID with rating, delta, navigation type and attribution', async () => {
  const p = vitalsPage();
  const main = new Element('main', {}, p.body);
  const hero = new Element('img', { class: 'hero wide big' }, main);
  const para = new Element('p', {}, new Element('div', { id: 'intro' }, main));
  const banner = new Element('div', { class: 'banner' }, main);
  const send = new Element('button', { id: 'send' }, main);
  await p.tick(0);
  p.emit('paint', [{ name: 'first-contentful-paint', startTime: 420 }]);
  await p.tick(0); // web-vitals observes layout shifts once FCP is reported
  p.emit('largest-contentful-paint', [
    { startTime: 900, element: para },
    { startTime: 1830, element: hero, url: 'https://site.example/hero.jpg' },
  ]);
  p.emit('layout-shift', [
    { value: 0.05, hadRecentInput: false, startTime: 500, sources: [{ node: banner }] },
    { value: 0.08, hadRecentInput: false, startTime: 700, sources: [{ node: { nodeType: 3 } }, { node: para }] },
  ]);
  p.run(`history.pushState({}, '', '/lessons/8')`); // an SPA navigation before the input
  const input = { name: 'pointerdown', startTime: 2000, processingStart: 2150, processingEnd: 2200, duration: 320, interactionId: 7, target: send };
  p.emit('first-input', [input]);
  p.emit('event', [input, { ...input, name: 'click', startTime: 2010, duration: 312 }]);
  await p.tick(2000);
  await p.hide();
  const v = Object.fromEntries(p.sent().filter((e) => e.type === 'vital').map((e) => [e.name, e]));
  assert.deepEqual(Object.keys(v).sort(), ['CLS', 'FCP', 'FID', 'INP', 'LCP', 'TTFB']);
  assert.deepEqual(pick(v.LCP), { value: 1830, rating: 'good', delta: 1830, navigationType: 'reload', attribution: 'img.hero.wide' });
  assert.deepEqual(pick(v.CLS), { value: 0.13, rating: 'needs-improvement', delta: 0.13, navigationType: 'reload', attribution: '#intro>p' });
  assert.deepEqual(pick(v.INP), { value: 320, rating: 'needs-improvement', delta: 320, navigationType: 'reload', attribution: '#send' });
  assert.deepEqual(pick(v.FID), { value: 150, rating: 'needs-improvement', delta: 150, navigationType: 'reload', attribution: '#send' });
  assert.deepEqual(pick(v.FCP), { value: 420, rating: 'good', delta: 420, navigationType: 'reload', attribution: undefined });
  assert.deepEqual(pick(v.TTFB), { value: 180, rating: 'good', delta: 180, navigationType: 'reload', attribution: undefined });
  assert.equal(v.FID.url, 'https://site.example/lessons/8', 'FID: the page of the first input');
  for (const name of ['LCP', 'CLS', 'INP', 'FCP', 'TTFB']) {
    assert.equal(v[name].url, 'https://site.example/lessons/7?utm_source=news', name + ': the page loaded, query cleaned');
  }
});

test('an LCP element that is gone is named by its URL', async () => {
  const p = vitalsPage();
  await p.tick(0);
  p.emit('paint', [{ name: 'first-contentful-paint', startTime: 100 }]);
  p.emit('largest-contentful-paint', [{ startTime: 2600, element: null, url: 'https://cdn.example/hero.webp' }]);
  await p.tick(0);
  await p.hide();
  const lcp = p.sent().find((e) => e.name === 'LCP');
  assert.deepEqual([lcp.rating, lcp.attribution], ['needs-improvement', 'https://cdn.example/hero.webp']);
});

test('data-vitals="false" reports none', async () => {
  const p = vitalsPage({ 'data-vitals': 'false' });
  await p.tick(0);
  p.emit('paint', [{ name: 'first-contentful-paint', startTime: 100 }]);
  p.emit('first-input', [{ name: 'pointerdown', startTime: 10, processingStart: 20, target: null }]);
  await p.hide();
  assert.deepEqual(p.sent().filter((e) => e.type === 'vital'), []);
});

const pick = (e) => ({ value: e.value, rating: e.rating, delta: e.delta, navigationType: e.navigationType, attribution: e.attribution });

test('an element without id or class is named through its ancestors, below body', async () => {
  const p = vitalsPage();
  const p1 = new Element('p', {}, new Element('section', {}, new Element('main', {}, p.body)));
  await p.tick(0);
  p.emit('paint', [{ name: 'first-contentful-paint', startTime: 100 }]);
  p.emit('largest-contentful-paint', [{ startTime: 300, element: p1 }]);
  await p.tick(0);
  await p.hide();
  assert.equal(p.sent().find((e) => e.name === 'LCP').attribution, 'main>section>p');
});
