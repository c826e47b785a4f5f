// The script tag's entry point (dist/alidade.min.js, served as /sdk.js):
//   <script defer src="https://HOST/sdk.js" data-key="ald_public_…"></script>
import { start } from './core';
import type { Options } from './types';

try {
  const w = window as any;
  const s = (document.currentScript || document.querySelector('script[data-key]')) as HTMLScriptElement;
  const a = (n: string) => s.getAttribute('data-' + n);
  const o: any = { key: a('key'), endpoint: a('endpoint') || new URL(s.src, location.href).origin + '/api/v1/events' };
  // data-keep-query="false" → keepQuery: false; a bare attribute is true.
  'pageviews hash keep-query vitals errors interactions zaraz respect-dnt allow-localhost allow-webdriver debug'.split(' ').forEach((n) => {
    const v = a(n);
    v != null && (o[n.replace(/-(.)/g, (_, c) => c.toUpperCase())] = !/^(false|0|no|off)$/i.test(v));
  });
  o.forwardConsole = a('forward-console'); // "error warn"
  w.alidade || (w.alidade = start(o as Options));
} catch (e) {
  console.warn('alidade: not started', e);
}
