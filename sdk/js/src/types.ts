/** One beacon event, as POST /api/v1/events takes it (see the README). */
export type BeaconEvent = { type: string; [field: string]: unknown };

/** Where helpers send their events: `window.alidade` or an `init()` result. */
export interface Sink {
  send(event: BeaconEvent): void;
}

/** What `init()` takes; the script tag's data- attributes map onto it. */
export interface Options {
  /** The project's public key (`ald_public_…`). */
  key: string;
  /** The full URL of the beacon endpoint, e.g. `https://alidade.example.com/api/v1/events`. */
  endpoint?: string;
  /** Automatic page views, SPA navigations included (default true). */
  pageviews?: boolean;
  /** Hash routing: the part after `#` is part of the page, and `hashchange` is a navigation. */
  hash?: boolean;
  /** Keep the whole query string of page URLs (default: only `utm_*` and `ref` are kept). */
  keepQuery?: boolean;
  /** Core Web Vitals (default true). */
  vitals?: boolean;
  /** `error` and `unhandledrejection` (default true). */
  errors?: boolean;
  /** Clicks and submits of elements marked `data-alidade-event` (default true). */
  interactions?: boolean;
  /** Install `window.zaraz` when Zaraz is absent (default true). */
  zaraz?: boolean;
  /** Send nothing when the browser asks not to be tracked (DNT or GPC). */
  respectDnt?: boolean;
  /** Send from localhost, 127.0.0.0/8, [::1], *.localhost and file: pages too. */
  allowLocalhost?: boolean;
  /** Send when the browser is driven by automation (navigator.webdriver). */
  allowWebdriver?: boolean;
  /** Forward `console.error` and/or `console.warn` to the `logs` dataset: `['error', 'warn']`
   * (or the string `'error warn'`); default none. At most 10 messages in 10 seconds. */
  forwardConsole?: string[] | string;
  /** Log what the SDK drops or the server rejects to the console. */
  debug?: boolean;
}

/** `window.alidade`. Every method is safe to call: none throws. */
export interface Api extends Sink {
  /** A custom event: lands in `events`. */
  track(name: string, props?: Record<string, unknown>): void;
  /** A page view of `path` (default: the current page). */
  pageview(path?: string, props?: Record<string, unknown>): void;
  /** An API call seen by the browser: lands in `api_calls`. */
  apiCall(endpoint: string, duration: number, status: number, extra?: Record<string, unknown>): void;
  /** Attach SHA-256(public key + ":" + id) to later events; null forgets it. */
  identify(id: string | number | null): Promise<void>;
  /** A caught error: lands in `client_errors`. */
  error(error: unknown): void;
  /** Sends what is queued now. */
  flush(): void;
  /** True when the SDK sends (false: no key, localhost, DNT/GPC, webdriver). */
  enabled: boolean;
}
