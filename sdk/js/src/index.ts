// The ESM build for bundlers: `import { init } from "@alidade/sdk"`.
import { start } from './core';
import type { Api, Options } from './types';

export type { Api, BeaconEvent, Options, Sink } from './types';
export { wrapFetch, instrumentFetch, type FetchOptions } from './fetch';
export { alidadeMiddleware, type ReduxOptions } from './redux';
export { trackWebSocket, wrapWebSocket, type WebSocketOptions } from './websocket';
export { endpointOf } from './sink';

/**
 * Starts the SDK as the script tag does, with options in place of data-
 * attributes, and returns its API. It becomes `window.alidade` unless the
 * script tag already made one (then that one is returned). Outside a
 * browser (server-side rendering) it returns an API that does nothing.
 */
export function init(options: Options): Api {
  if (typeof window == 'undefined' || typeof document == 'undefined') return inert;
  const w = window as any;
  return w.alidade || (w.alidade = start(options));
}

const nop = () => {};
const inert: Api = {
  send: nop,
  track: nop,
  pageview: nop,
  apiCall: nop,
  identify: () => Promise.resolve(),
  error: nop,
  flush: nop,
  enabled: false,
};
