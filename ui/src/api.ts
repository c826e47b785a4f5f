// The dashboard's only way to the server: same-origin fetches with the
// session cookie, the CSRF token on every state change, and the project a
// root session looks at. No key ever reaches this code.

export interface Session {
  project: { id: number; name: string } | null;
  kind: 'admin' | 'read' | 'root';
  root: boolean;
  csrfToken: string;
  expires: string;
  projects?: { id: number; name: string }[];
}

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

let csrf = document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
let project = 0; // a root session's chosen project (0: none)

export function setProject(id: number) {
  project = id;
}

export function currentProject() {
  return project;
}

function headers(extra?: Record<string, string>): Record<string, string> {
  const h: Record<string, string> = { Accept: 'application/json', ...extra };
  if (project) h['X-Alidade-Project'] = String(project);
  return h;
}

async function answer<T>(r: Response): Promise<T> {
  if (r.status === 401) {
    // The session ended (idle, revoked, logged out elsewhere).
    location.assign('/login?next=' + encodeURIComponent(location.pathname + location.search));
    throw new ApiError(401, 'unauthorized', 'signed out');
  }
  const text = await r.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    throw new ApiError(r.status, 'bad_answer', text.slice(0, 200) || r.statusText);
  }
  if (!r.ok) {
    const e = body?.error ?? {};
    throw new ApiError(r.status, e.code ?? 'error', e.message ?? r.statusText);
  }
  return body as T;
}

// inflight shares a GET with the same URL and project while it runs (the
// overview's figures are asked for before the page renders, and again by
// the page).
const inflight = new Map<string, Promise<unknown>>();

export function get<T>(path: string, params?: Record<string, string | number | undefined>): Promise<T> {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== '') u.searchParams.set(k, String(v));
  const key = u.toString() + '|' + project;
  let p = inflight.get(key) as Promise<T> | undefined;
  if (!p) {
    p = fetch(u, { headers: headers(), credentials: 'same-origin' }).then((r) => answer<T>(r));
    inflight.set(key, p);
    const done = () => inflight.delete(key);
    p.then(done, done);
  }
  return p;
}

export async function send<T>(method: 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown, contentType = 'application/json'): Promise<T> {
  const r = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: headers({ 'Content-Type': contentType, 'X-CSRF-Token': csrf }),
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return answer<T>(r);
}

// The page carries the session's answer (a meta tag): the first call
// needs no request.
let embedded = document.querySelector<HTMLMetaElement>('meta[name="session"]')?.content ?? '';

export async function session(): Promise<Session> {
  let s: Session | null = null;
  if (embedded) {
    try {
      s = JSON.parse(embedded) as Session;
    } catch {
      s = null;
    }
    embedded = '';
  }
  s ??= await get<Session>('/api/v1/session');
  csrf = s.csrfToken || csrf;
  return s;
}

export async function logout() {
  await fetch('/logout', { method: 'POST', credentials: 'same-origin', headers: { 'X-CSRF-Token': csrf } });
  location.assign('/login');
}

// live calls back on every change the server announces over SSE
// (GET /api/v1/live), with the datasets written; it reconnects by itself.
export function live(onChange: (datasets: string[]) => void): () => void {
  const u = new URL('/api/v1/live', location.origin);
  if (project) u.searchParams.set('project', String(project));
  const es = new EventSource(u, { withCredentials: true });
  es.addEventListener('change', (ev) => {
    try {
      onChange(JSON.parse((ev as MessageEvent).data).datasets ?? []);
    } catch {
      onChange([]);
    }
  });
  return () => es.close();
}
