// The Sentry test page: @sentry/browser, as a site would use it, with the
// DSN of an Alidade project. Its transport is Sentry's own fetch transport
// given a fetch that records each answer as the page sees it (status, and
// the rate-limit headers CORS lets it read), so that the test can tell
// what reached the browser.
import * as Sentry from '@sentry/browser';

type Sent = { body: string; status: number; events: number; items: string[]; rateLimits: string | null; retryAfter: string | null; error?: string };

declare global {
  interface Window {
    SENTRY_DSN: string;
    sentry: { ready: boolean; sent: Sent[]; quota: number; probe?: unknown };
  }
}

const state: Window['sentry'] = { ready: false, sent: [], quota: 0 };
window.sentry = state;
const nativeFetch = window.fetch.bind(window); // before Sentry instruments it

function recordingFetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
  const body = typeof init?.body === 'string' ? init.body : '';
  const items = [...body.matchAll(/^\{"type":"([a-z_]+)"/gm)].map((m) => m[1]);
  const events = items.filter((t) => t === 'event').length;
  return nativeFetch(input, init).then(
    (r) => {
      state.sent.push({ body, status: r.status, events, items, rateLimits: r.headers.get('X-Sentry-Rate-Limits'), retryAfter: r.headers.get('Retry-After') });
      return r;
    },
    (e) => {
      state.sent.push({ body, status: 0, events, items, rateLimits: null, retryAfter: null, error: String(e) });
      throw e;
    },
  );
}

Sentry.init({
  dsn: window.SENTRY_DSN,
  release: 'tutor@1.4.0',
  environment: 'browsertest',
  transport: (options) => Sentry.makeFetchTransport(options, recordingFetch),
});

// In-app code with named functions: the frames the groups are made of.
function parseScore(raw: string): number {
  const n = Number(raw);
  if (Number.isNaN(n)) {
    throw new TypeError(`score is not a number: "${raw}"`);
  }
  return n;
}

function gradeLesson(): number {
  return parseScore('abc');
}

async function loadLesson(id: number): Promise<void> {
  await new Promise((ok) => setTimeout(ok, 10));
  throw new Error(`lesson ${id} failed to load`);
}

function checkQuota(): void {
  throw new RangeError(`quota exceeded #${++state.quota}`);
}

document.getElementById('throw')!.addEventListener('click', () => {
  gradeLesson();
});
document.getElementById('reject')!.addEventListener('click', () => {
  void loadLesson(7); // nobody awaits it: an unhandled rejection
});
document.getElementById('quota')!.addEventListener('click', () => {
  checkQuota();
});

// probe posts an envelope (a client report only) as a page's own code
// would, with Sentry's headers: a request that needs a CORS preflight, and
// whose answer's exposed headers the page reads.
(window as any).probe = async (url: string, auth: string): Promise<unknown> => {
  const body = `{"sent_at":"${new Date().toISOString()}"}\n{"type":"client_report"}\n{"timestamp":${Date.now() / 1000},"discarded_events":[]}\n`;
  try {
    const r = await nativeFetch(url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-sentry-envelope', 'X-Sentry-Auth': auth },
      body,
    });
    return { status: r.status, sentryError: r.headers.get('X-Sentry-Error'), body: await r.text() };
  } catch (e) {
    return { status: 0, error: String(e) };
  }
};

state.ready = true;
