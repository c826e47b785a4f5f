// A tiny browser for unit tests: a node:vm context with the parts of
// window, document, location, history and navigator the SDK touches, a
// fake clock, and recorders for what leaves the page (sendBeacon, fetch)
// and for any use of cookies or storage. Real-browser tests run Chromium.
import { readFileSync } from 'node:fs';
import vm from 'node:vm';
import { webcrypto } from 'node:crypto';

class Target {
  constructor() {
    this.listeners = {};
  }
  addEventListener(type, f, capture) {
    (this.listeners[type] ||= []).push(f);
  }
  removeEventListener(type, f) {
    this.listeners[type] = (this.listeners[type] || []).filter((g) => g !== f);
  }
  dispatch(type, props = {}) {
    const e = { type, target: this, isTrusted: true, ...props };
    for (const f of [...(this.listeners[type] || [])]) f.call(this, e);
    return e;
  }
}

/** An element: enough for closest(), attributes and selectors. */
export class Element extends Target {
  constructor(tag, attrs = {}, parent = null) {
    super();
    this.tagName = tag.toUpperCase();
    this.nodeName = this.tagName;
    this.nodeType = 1;
    this.parentNode = parent;
    this.attrs = { ...attrs };
    this.id = attrs.id || '';
    this.classList = (attrs.class || '').split(/\s+/).filter(Boolean);
  }
  get attributes() {
    return Object.entries(this.attrs).map(([name, value]) => ({ name, value }));
  }
  getAttribute(n) {
    return n in this.attrs ? this.attrs[n] : null;
  }
  closest(sel) {
    const attr = /^\[([\w-]+)\]$/.exec(sel)[1];
    for (let n = this; n && n.nodeType == 1; n = n.parentNode) if (n.getAttribute(attr) != null) return n;
    return null;
  }
  /** Dispatches on the document in the capture phase, as a click bubbles there. */
  click(doc, type = 'click') {
    for (const f of [...(doc.listeners[type] || [])]) f.call(doc, { type, target: this });
  }
}

/**
 * page({url, attrs, referrer, navigator, fetch}) → a page with the script
 * tag's data- attributes attrs; load(code) runs a script in it.
 */
export function page(opts = {}) {
  const beacons = [];
  const fetches = [];
  const storage = [];
  const logs = [];
  const timers = [];
  let now = 1_700_000_000_000;
  let timerId = 0;
  const url = new URL(opts.url || 'https://site.example/lessons/7?utm_source=news&token=secret#top');

  const location = {};
  const setURL = (u) => {
    const x = new URL(u, location.href || url.href);
    for (const k of ['href', 'origin', 'protocol', 'host', 'hostname', 'pathname', 'search', 'hash']) location[k] = x[k];
  };
  setURL(url.href);

  const win = new Target();
  const doc = new Target();
  const html = new Element('html', {}, doc);
  const body = new Element('body', {}, html);
  doc.nodeType = 9;
  doc.body = body;
  doc.referrer = opts.referrer ?? 'https://google.com/';
  doc.visibilityState = 'visible';
  doc.readyState = 'complete';
  const script = new Element('script', { src: opts.src || 'https://alidade.example:8080/sdk.js', ...(opts.attrs || {}) }, body);
  script.src = script.attrs.src;
  doc.currentScript = script;
  doc.querySelector = () => script;
  Object.defineProperty(doc, 'cookie', {
    get: () => {
      storage.push('cookie read');
      return '';
    },
    set: (v) => storage.push('cookie set ' + v),
  });
  const watched = (name) =>
    new Proxy(
      {},
      {
        get: (_, k) => {
          storage.push(name + '.' + String(k));
          return () => null;
        },
      },
    );

  const history = {
    state: null,
    pushState(state, title, u) {
      this.state = state;
      u != null && setURL(u);
    },
    replaceState(state, title, u) {
      this.state = state;
      u != null && setURL(u);
    },
  };

  const respond = opts.respond || (() => ({ status: 202, body: { accepted: 1, rejected: [] } }));
  const fetch = (u, init) => {
    const call = { url: String(u), init, body: init && init.body };
    fetches.push(call);
    let r;
    try {
      r = respond(call, fetches.length);
    } catch (e) {
      return Promise.reject(e);
    }
    if (r instanceof Error) return Promise.reject(r);
    return Promise.resolve({
      status: r.status,
      ok: r.status < 300,
      headers: { get: () => null },
      json: () => Promise.resolve(r.body),
    });
  };

  const navigator = {
    userAgent: 'test',
    sendBeacon: (u, data) => {
      if (opts.beaconFails) return false;
      beacons.push({ url: String(u), body: data });
      return true;
    },
    ...(opts.navigator || {}),
  };

  const sandbox = {
    window: null,
    document: doc,
    location,
    history,
    navigator,
    fetch,
    console: {
      log: (...a) => logs.push(['log', ...a]),
      info: (...a) => logs.push(['info', ...a]),
      warn: (...a) => logs.push(['warn', ...a]),
      error: (...a) => logs.push(['error', ...a]),
    },
    setTimeout: (f, ms = 0) => {
      timers.push({ id: ++timerId, at: now + ms, f });
      return timerId;
    },
    clearTimeout: (id) => {
      const i = timers.findIndex((t) => t.id === id);
      i >= 0 && timers.splice(i, 1);
    },
    Date: class extends Date {
      constructor(...a) {
        a.length ? super(...a) : super(now);
      }
      static now() {
        return now;
      }
    },
    requestAnimationFrame: (f) => sandbox.setTimeout(f, 16),
    performance: { now: () => now, getEntriesByType: () => [], timeOrigin: now },
    crypto: webcrypto,
    URL,
    URLSearchParams,
    TextEncoder,
    TextDecoder,
    localStorage: watched('localStorage'),
    sessionStorage: watched('sessionStorage'),
    indexedDB: watched('indexedDB'),
    ...(opts.globals || {}),
  };
  for (const k of ['addEventListener', 'removeEventListener']) sandbox[k] = win[k].bind(win);
  const ctx = vm.createContext(sandbox);
  sandbox.window = vm.runInContext('globalThis', ctx);
  sandbox.self = sandbox.window;
  if (opts.setup) opts.setup(sandbox.window);

  const p = {
    window: sandbox.window,
    document: doc,
    body,
    script,
    win,
    beacons,
    fetches,
    storage,
    logs,
    timers,
    load(code = readFileSync(new URL('../build/test/alidade.min.js', import.meta.url), 'utf8')) {
      vm.runInContext(code, ctx, { filename: 'sdk.js' });
      return p;
    },
    run(code) {
      return vm.runInContext(code, ctx);
    },
    /** Advances the fake clock by ms, running the timers due (and the promises they start). */
    async tick(ms = 0) {
      const end = now + ms;
      for (;;) {
        await settle();
        timers.sort((a, b) => a.at - b.at);
        const t = timers[0];
        if (!t || t.at > end) break;
        timers.shift();
        now = Math.max(now, t.at);
        t.f();
      }
      now = end;
      await settle();
    },
    /** Hides the page, as switching tabs or closing it does. */
    async hide() {
      doc.visibilityState = 'hidden';
      // The event bubbles from the document; window's capturing listeners (web-vitals') hear it first.
      win.dispatch('visibilitychange', { target: doc, timeStamp: now });
      doc.dispatch('visibilitychange', { timeStamp: now });
      await settle();
    },
    /** The events that left the page, in order (beacons and fetches). */
    sent() {
      return [...fetches.map((f) => ({ at: f, body: f.body })), ...beacons.map((b) => ({ at: b, body: b.body }))].flatMap((x) => JSON.parse(x.body).events);
    },
    bodies() {
      return [...fetches.map((f) => f.body), ...beacons.map((b) => b.body)].map((b) => JSON.parse(b));
    },
    get now() {
      return now;
    },
  };
  return p;
}

/** Lets pending promise callbacks run. */
export const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
