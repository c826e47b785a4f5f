import { transport } from './transport';
import type { Api, BeaconEvent, Options } from './types';
import { vitals } from './vitals';

type Props = Record<string, any>;

const LOCAL = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$|\.localhost$/;

/**
 * Starts the browser SDK: installs `window.alidade` (and `window.zaraz`
 * when Zaraz is absent) and the automatic instrumentation the options ask
 * for. Nothing it installs throws into the page.
 */
export function start(o: Options): Api {
  const w = window as any;
  const d = document;
  const nav = navigator as any;
  const loc = location;
  const log = (...a: unknown[]) => o.debug && console.warn('alidade:', ...a);
  const safe = (f: (...a: any[]) => any) =>
    function (this: unknown, ...a: any[]) {
      try {
        return f.apply(this, a);
      } catch (e) {
        log(e);
      }
    };
  const local = LOCAL.test(loc.hostname) || loc.protocol == 'file:';
  // Why nothing is sent, if so (said on the console on local pages).
  const off = !o.key
    ? 'key'
    : o.respectDnt && (nav.doNotTrack == '1' || w.doNotTrack == '1' || nav.globalPrivacyControl)
      ? 'respect-dnt'
      : local && !o.allowLocalhost
        ? 'allow-localhost'
        : nav.webdriver && !o.allowWebdriver
          ? 'allow-webdriver'
          : '';
  off && (o.debug || local) && console.info('alidade: off (see data-' + off + ')');
  const t = !off && transport(o.endpoint || loc.origin + '/api/v1/events', o.key, log);

  let user: string | undefined;
  const vars: Props = {};
  const clean = (u?: string) => {
    const x = new URL(u || loc.href, loc.href);
    o.hash || (x.hash = '');
    if (!o.keepQuery) {
      const p = new URLSearchParams();
      x.searchParams.forEach((v, k) => /^(utm_|ref$)/.test(k) && p.append(k, v));
      x.search = '' + p;
    }
    return x.href;
  };

  const send = safe((e: BeaconEvent) => {
    if (!t) return;
    e.url = clean(e.url as string);
    e.timestamp = Date.now();
    user && (e.user = user);
    t.push(e);
  });

  // Page views. Two of the same URL within a second (the automatic one and
  // the app's own, e.g. the seed's trackPageView) count once.
  let last = '';
  let lastAt = 0;
  let first = 1;
  const pageview = (path?: string, props?: Props) => {
    const u = clean(path);
    if (u != last || Date.now() - lastAt > 999) {
      send({ type: 'pageview', url: u, referrer: first ? d.referrer || undefined : undefined, props });
      first = 0;
    }
    last = u;
    lastAt = Date.now();
  };
  const auto = safe(() => clean() != last && pageview());

  // At most 25 errors a page: a loop of errors must not flood the beacon.
  let nerrs = 0;
  const error = (e: any, rejection?: any, at?: any) => {
    const obj = e instanceof Object;
    ++nerrs > 25 ||
      send({
        type: 'error',
        message: String((obj && e.message) || e).slice(0, 1000),
        errorType: (obj && e.name) || (rejection ? 'UnhandledRejection' : 'Error'),
        stack: obj && e.stack ? String(e.stack).slice(0, 4000) : undefined,
        source: at && at.filename,
        line: at && at.lineno,
        column: at && at.colno,
      });
  };

  const track = (name: string, props?: Props) => send({ type: 'event', name: String(name), props: { ...vars, ...props } });

  const api: Api = {
    send,
    track,
    pageview,
    apiCall: (endpoint, duration, status, extra) => send({ type: 'api_call', endpoint, duration, status, ...extra }),
    identify: (id) =>
      Promise.resolve()
        .then(() =>
          id == null
            ? (user = undefined)
            : crypto.subtle.digest('SHA-256', new TextEncoder().encode(o.key + ':' + id)).then((b) => {
                user = Array.from(new Uint8Array(b), (x) => (x + 256).toString(16).slice(1)).join('').slice(0, 32);
              }),
        )
        .catch(log) as Promise<any>,
    error: (e) => error(e),
    flush: () => t && t.flush(),
    enabled: !!t,
  };
  for (const k in api) typeof (api as any)[k] == 'function' && k != 'send' && ((api as any)[k] = safe((api as any)[k]));

  if (o.zaraz != false && !w.zaraz) {
    // Zaraz's Web API, as documented, for code written against Zaraz.
    const done = () => Promise.resolve();
    w.zaraz = {
      track: safe((name: string, p?: Props) => {
        p = { ...vars, ...p };
        name == 'page_view'
          ? pageview(p.path, p)
          : name == 'api_call'
            ? send({ type: 'api_call', endpoint: p.endpoint, duration: p.duration_ms, status: p.status_code, success: p.success })
            : track(name, p);
        return done();
      }),
      set: safe((k: string, v: unknown) => {
        v === undefined ? delete vars[k] : (vars[k] = v);
      }),
      ecommerce: safe((name: string, p?: Props) => {
        track(name, p);
        return done();
      }),
      spaPageview: safe(() => pageview()),
    };
  }

  if (t) {
    const on = (target: any, type: string, f: (e: any) => void, capture?: boolean) => target.addEventListener(type, safe(f), capture);
    if (o.pageviews != false) {
      d.prerendering ? on(d, 'prerenderingchange', auto) : auto();
      const h: any = history;
      ['pushState', 'replaceState'].forEach((m) => {
        const orig = h[m];
        h[m] = function (this: unknown) {
          const r = orig.apply(this, arguments);
          auto();
          return r;
        };
      });
      on(w, 'popstate', auto);
      o.hash && on(w, 'hashchange', auto);
      on(w, 'pageshow', (e) => e.persisted && pageview());
    }
    if (o.errors != false) {
      on(w, 'error', (e) => e.message != null && error(e.error || { message: e.message }, 0, e));
      on(w, 'unhandledrejection', (e) => error(e.reason, 1));
    }
    if (o.interactions != false) {
      const act = (e: Event) => {
        const el = (e.target as Element).closest && (e.target as Element).closest('[data-alidade-event]');
        if (!el || (e.type == 'click') == (el.tagName == 'FORM')) return;
        const props: Props = {};
        for (const a of Array.from(el.attributes)) a.name.indexOf('data-alidade-prop-') || (props[a.name.slice(18)] = a.value);
        track(el.getAttribute('data-alidade-event')!, props);
      };
      on(d, 'click', act, true);
      on(d, 'submit', act, true);
    }
    // console.error and console.warn, when asked: at most 25 messages a
    // page, as errors, so that a loop cannot flood. The console still prints.
    let nlogs = 0;
    const fwd = safe((level: string, a: any[]) => ++nlogs > 25 || send({ type: 'log', message: a.join(' ').slice(0, 1000), level }));
    ['error', 'warn'].forEach((l) => {
      const f = (console as any)[l];
      ('' + o.forwardConsole).includes(l) && ((console as any)[l] = (...a: any[]) => (fwd(l, a), f(...a)));
    });
    o.vitals != false && vitals(send);
    // After web-vitals' own listeners, which report when the page is hidden.
    on(d, 'visibilitychange', () => d.visibilityState == 'hidden' && t.flush(true));
    on(w, 'pagehide', () => t.flush(true));
  }
  return api;
}
