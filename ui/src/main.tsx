// Alidade's dashboard: one page app over the server's JSON APIs, signed in
// by an HttpOnly session cookie (never a key), live over SSE.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { live, logout, session, Session, setProject } from './api';
import { navigate, RANGES, readView, useView, View } from './state';
import { SessionCtx, Tick } from './ui';
import { loadMetrics, Overview } from './pages/overview';
import { pages } from './pages/index';

export interface Page {
  path: string; // "/" or "/backend": the page owns every path under it
  title: string;
  render: (v: View) => preact.ComponentChildren;
}

const all: Page[] = [{ path: '/', title: 'Overview', render: (v) => <Overview view={v} /> }, ...pages];

function pageOf(path: string): Page {
  let best = all[0];
  for (const p of all) if (p.path !== '/' && (path === p.path || path.startsWith(p.path + '/'))) best = p;
  return best;
}

function Link({ href, children, current }: { href: string; children: preact.ComponentChildren; current?: boolean }) {
  return (
    <a
      href={href + location.search}
      aria-current={current ? 'page' : undefined}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(href);
      }}
    >
      {children}
    </a>
  );
}

function RangePicker({ v }: { v: View }) {
  return (
    <div class="range" role="group" aria-label="Time range">
      <label>
        <span class="sr-only">Range</span>
        <select
          value={v.range}
          onChange={(e) => navigate(null, { range: (e.target as HTMLSelectElement).value })}
          data-testid="range"
        >
          {RANGES.map((r) => (
            <option value={r}>Last {r}</option>
          ))}
          <option value="custom">Custom…</option>
        </select>
      </label>
      {v.range === 'custom' && (
        <>
          <label>
            From (UTC) <input type="datetime-local" value={v.from} onChange={(e) => navigate(null, { from: (e.target as HTMLInputElement).value })} />
          </label>
          <label>
            To (UTC) <input type="datetime-local" value={v.to} onChange={(e) => navigate(null, { to: (e.target as HTMLInputElement).value })} />
          </label>
        </>
      )}
    </div>
  );
}

function useTheme(): [string, () => void] {
  const [t, set] = useState(() => localStorage.getItem('alidade-theme') ?? 'auto');
  useEffect(() => {
    document.documentElement.dataset.theme = t;
    localStorage.setItem('alidade-theme', t);
  }, [t]);
  return [t, () => set(t === 'auto' ? 'dark' : t === 'dark' ? 'light' : 'auto')];
}

function App() {
  const v = useView();
  const [s, setS] = useState<Session | null>(null);
  const [err, setErr] = useState('');
  const [tick, setTick] = useState(0);
  const [theme, nextTheme] = useTheme();
  const [menu, setMenu] = useState(false);

  useEffect(() => {
    session().then(
      (s) => {
        if (s.root && !v.project && s.projects?.length) navigate(null, { project: s.projects[0].id }, true);
        setS(s);
      },
      (e) => setErr(e.message),
    );
  }, []);
  setProject(s?.root ? v.project : 0);

  // Live: the server announces writes over SSE; pages read again at most
  // every 2 s, and every 60 s in any case.
  useEffect(() => {
    if (!s || !v.live) return;
    let pending = false;
    const bump = () => {
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        setTick((t) => t + 1);
      }, 2000);
    };
    const stop = live(bump);
    const timer = setInterval(() => setTick((t) => t + 1), 60_000);
    return () => {
      stop();
      clearInterval(timer);
    };
  }, [s, v.live, v.project]);

  if (err) return <p class="failure" role="alert">{err}</p>;
  if (!s) return <p class="loading">Loading…</p>;
  const page = pageOf(v.path);
  document.title = page.title + ' · Alidade';
  return (
    <SessionCtx.Provider value={s}>
      <Tick.Provider value={tick}>
        <a class="skip" href="#main">Skip to content</a>
        <nav class={'side' + (menu ? ' open' : '')} aria-label="Pages">
          <div class="brand">Alidade</div>
          <ul>
            {all.map((p) => (
              <li>
                <Link href={p.path} current={p === page}>
                  {p.title}
                </Link>
              </li>
            ))}
          </ul>
        </nav>
        <div class="body">
          <header class="top">
            <button type="button" class="menu" aria-expanded={menu} aria-label="Menu" onClick={() => setMenu(!menu)}>
              ☰
            </button>
            <h1>{page.title}</h1>
            <RangePicker v={v} />
            {s.root && (
              <label>
                <span class="sr-only">Project</span>
                <select value={v.project} onChange={(e) => navigate(null, { project: (e.target as HTMLSelectElement).value })} data-testid="project">
                  {s.projects?.map((p) => (
                    <option value={p.id}>{p.name}</option>
                  ))}
                </select>
              </label>
            )}
            {!s.root && <span class="project">{s.project?.name}</span>}
            <label class="live">
              <input type="checkbox" checked={v.live} onChange={(e) => navigate(null, { live: (e.target as HTMLInputElement).checked ? null : 0 })} /> Live
            </label>
            <button type="button" onClick={nextTheme} aria-label={'Theme: ' + theme}>
              {theme === 'dark' ? '☾' : theme === 'light' ? '☀' : '◐'}
            </button>
            <span class="who" title={s.kind + ' key'}>{s.kind}</span>
            <button type="button" onClick={logout}>
              Sign out
            </button>
          </header>
          <main id="main" tabIndex={-1}>
            {page.render(v)}
          </main>
        </div>
      </Tick.Provider>
    </SessionCtx.Provider>
  );
}

// The overview's figures are asked for at once, while the page renders.
{
  const v = readView();
  const root = document.querySelector<HTMLMetaElement>('meta[name="session"]')?.content.includes('"root":true');
  setProject(v.project);
  // A root session names its project in the URL; without one it is chosen first.
  if (v.path === '/' && (!root || v.project)) loadMetrics(v).catch(() => {});
}
render(<App />, document.getElementById('app')!);
