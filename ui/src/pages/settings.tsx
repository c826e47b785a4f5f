// Settings: the project's DSN and script tag to copy, its projects (root),
// keys (create, revoke), datasets (schemas, retention, sampling), allowed
// origins and AI prices. A read session sees the datasets and what it may
// read; every change is the admin's (or root's), sent with the CSRF token,
// and shows the server's error as it is.
import { Fragment } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, get, send, Session } from '../api';
import { ago, num } from '../format';
import { navigate, View } from '../state';
import { Empty, Failure, Panel, useData, useSession } from '../ui';
import { ActionError, Confirm, CopyField, SecretDialog, useAction, useCanChange, utc } from './settings-parts';
import { PricingPanel } from './settings-pricing';

export interface Project {
  id: number;
  name: string;
  created: string;
  allowedOrigins: string[];
  dsn: string | null;
  errorRateLimit: { events: number; window: string } | null;
  keys?: Record<string, string>;
}

interface Key {
  id: number;
  kind: string;
  name: string;
  prefix: string;
  created: string;
}

interface Schema {
  index?: string;
  blobs?: string[];
  doubles?: string[];
  rollup?: { dimensions?: string[]; distributions?: string[] };
}

interface Dataset {
  name: string;
  points: number;
  first: string | null;
  last: string | null;
  schema: Schema | null;
  retention?: string;
  sampling: { pointsPerSecond: number } | null;
  created: string;
}

// The datasets the server defines (README "Built-in datasets"): their
// schemas are fixed.
const BUILTIN = new Set([
  'requests', 'ai_usage', 'embeddings', 'vector_search', 'db_queries', 'websocket', 'grade_passback', 'intent',
  'pageviews', 'events', 'web_vitals', 'api_calls', 'client_errors', 'ui_actions',
  'errors', 'transactions', 'spans', 'sessions', 'check_ins', 'logs',
]);

export function projectOf(s: Session, v: View): number {
  return s.root ? v.project : s.project?.id ?? 0;
}

// scriptTag is the browser SDK's tag for a DSN: the SDK is served where the
// DSN points, with the DSN's public key.
export function scriptTag(dsn: string): string | null {
  try {
    const u = new URL(dsn);
    const key = decodeURIComponent(u.username);
    if (!key) return null;
    const base = u.origin + u.pathname.replace(/\/\d+\/?$/, '');
    return `<script defer src="${base}/sdk.js" data-key="${key}"></script>`;
  } catch {
    return null;
  }
}

export function Settings({ view }: { view: View }) {
  const s = useSession();
  const canChange = useCanChange();
  const pid = projectOf(s, view);
  const [pv, setPv] = useState(0); // bumped after a change of the project
  const project = useData(() => (canChange && pid ? get<Project>(`/api/v1/projects/${pid}`) : Promise.resolve(null)), [view.project, pid, pv]);
  if (s.root && !pid) {
    return (
      <>
        <ProjectsPanel view={view} />
        <p class="meta">Choose a project above to see its settings.</p>
      </>
    );
  }
  return (
    <>
      <nav class="st-toc" aria-label="Settings sections">
        {[
          ['st-project', 'Project'],
          ...(s.root ? [['st-projects', 'Projects']] : []),
          ...(canChange ? [['st-keys', 'Keys']] : []),
          ['st-datasets', 'Datasets'],
          ...(canChange ? [['st-origins', 'Allowed origins'], ['st-pricing', 'AI prices']] : []),
        ].map(([id, label]) => (
          <a
            href={'#' + id}
            onClick={(e) => {
              e.preventDefault();
              const el = document.getElementById(id);
              el?.scrollIntoView({ block: 'start' });
              history.replaceState(null, '', location.pathname + location.search + '#' + id);
            }}
          >
            {label}
          </a>
        ))}
      </nav>
      <ProjectPanel s={s} pid={pid} project={project.data} error={project.error} />
      {s.root && <ProjectsPanel view={view} />}
      {canChange ? (
        <KeysPanel view={view} onChange={() => setPv((n) => n + 1)} />
      ) : (
        <div id="st-keys">
          <Panel title="Keys, origins and prices">
            <p class="meta" data-testid="st-read-note">
              This session was opened with a <strong>read</strong> key: it sees the datasets and queries. The project’s keys, DSN, allowed origins and AI prices are
              the admin’s — sign out and sign in with the project’s admin key to see and change them.
            </p>
          </Panel>
        </div>
      )}
      <DatasetsPanel view={view} />
      {canChange && <OriginsPanel pid={pid} project={project.data} onSaved={() => setPv((n) => n + 1)} />}
      {canChange && <PricingPanel view={view} />}
    </>
  );
}

function Section({ id, title, children, actions }: { id: string; title: string; children: preact.ComponentChildren; actions?: preact.ComponentChildren }) {
  return (
    <div id={id} class="st-section">
      <Panel title={title} wide actions={actions}>
        {children}
      </Panel>
    </div>
  );
}

function ProjectPanel({ s, pid, project, error }: { s: Session; pid: number; project: Project | null; error: Error | null }) {
  const name = project?.name ?? (s.root ? s.projects?.find((p) => p.id === pid)?.name : s.project?.name) ?? '–';
  const tag = project?.dsn ? scriptTag(project.dsn) : null;
  return (
    <Section id="st-project" title="Project">
      <dl class="st-facts">
        <div>
          <dt>Name</dt>
          <dd data-testid="st-project-name">{name}</dd>
        </div>
        <div>
          <dt>Id</dt>
          <dd>{pid || '–'}</dd>
        </div>
        {project && (
          <div>
            <dt>Created</dt>
            <dd>{utc(project.created)}</dd>
          </div>
        )}
        <div>
          <dt>Session</dt>
          <dd>{s.kind}</dd>
        </div>
      </dl>
      <Failure error={error} />
      {project && project.dsn && (
        <>
          <CopyField label="Sentry DSN (any Sentry SDK sends errors here)" value={project.dsn} testid="st-dsn" />
          {tag && <CopyField label="Script tag (the browser SDK: page views, Web Vitals, errors)" value={tag} testid="st-script" />}
        </>
      )}
      {project && !project.dsn && (
        <p class="meta" data-testid="st-no-dsn">
          This project has no public key whose secret is kept, so it has no DSN or script tag yet: create a <strong>public</strong> key below.
        </p>
      )}
    </Section>
  );
}

function ProjectsPanel({ view }: { view: View }) {
  const s = useSession();
  const [v, setV] = useState(0);
  const list = useData(() => get<{ projects: Project[] }>('/api/v1/projects'), [v]);
  const act = useAction();
  const [name, setName] = useState('');
  const [made, setMade] = useState<Project | null>(null);
  const open = (id: number) => {
    // A project made after sign-in is not in the session's list yet: load
    // the page again to read the list.
    if (s.projects?.some((p) => p.id === id)) navigate('/settings', { project: id });
    else location.assign('/settings?project=' + id);
  };
  return (
    <Section id="st-projects" title="Projects">
      <Failure error={list.error} />
      {list.data && (
        <div class="table-wrap">
          <table aria-label="Projects" data-testid="st-projects">
            <thead>
              <tr>
                <th scope="col" class="num">Id</th>
                <th scope="col">Name</th>
                <th scope="col">Created</th>
                <th scope="col">Allowed origins</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.projects.map((p) => (
                <tr>
                  <td class="num">{p.id}</td>
                  <td>{p.name}</td>
                  <td>{utc(p.created)}</td>
                  <td>{p.allowedOrigins.length ? p.allowedOrigins.length + ' listed' : 'any'}</td>
                  <td>
                    {p.id === view.project ? (
                      <span class="meta">shown</span>
                    ) : (
                      <button type="button" onClick={() => open(p.id)}>
                        Open
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form
        class="st-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await act.run(() => send<Project>('POST', '/api/v1/projects', { name: name.trim() }));
          if (r.ok) {
            setMade(r.value);
            setName('');
            setV((n) => n + 1);
          }
        }}
      >
        <label>
          New project
          <input type="text" value={name} maxLength={64} placeholder="e.g. web" pattern="[A-Za-z0-9._\-]{1,64}" title="1 to 64 letters, digits, '-', '_' or '.'" onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="st-project-new" />
        </label>
        <button type="submit" disabled={act.busy || !name.trim()} data-testid="st-project-create">
          Create project
        </button>
        <span class="meta">It gets one key of each kind (public, write, read, admin), shown once.</span>
        <ActionError error={act.error} testid="st-project-error" />
      </form>
      {made && (
        <SecretDialog
          title={`Project “${made.name}” (id ${made.id}): its keys`}
          secrets={['admin', 'read', 'write', 'public'].filter((k) => made.keys?.[k]).map((k) => ({ label: k + ' key', value: made.keys![k] }))}
          onClose={() => setMade(null)}
        >
          {made.dsn && <CopyField label="Sentry DSN" value={made.dsn} />}
          <p>
            <button type="button" onClick={() => open(made.id)}>
              Open the project’s settings
            </button>
          </p>
        </SecretDialog>
      )}
    </Section>
  );
}

const KINDS: { kind: string; what: string }[] = [
  { kind: 'read', what: 'queries, dashboards, Grafana' },
  { kind: 'write', what: 'writes from servers and SDKs' },
  { kind: 'public', what: 'the browser beacon and the Sentry DSN; bound to the allowed origins' },
  { kind: 'admin', what: 'keys, schemas, retention, prices; may also read and write' },
];

function KeysPanel({ view, onChange }: { view: View; onChange: () => void }) {
  const [v, setV] = useState(0);
  const keys = useData(() => get<{ keys: Key[] }>('/api/v1/keys'), [view.project, v]);
  const make = useAction();
  const revoke = useAction();
  const [kind, setKind] = useState('read');
  const [name, setName] = useState('');
  const [made, setMade] = useState<(Key & { key: string }) | null>(null);
  const reload = () => {
    setV((n) => n + 1);
    onChange(); // the DSN follows the public keys
  };
  return (
    <Section id="st-keys" title="Keys">
      <Failure error={keys.error} />
      {keys.data && (
        <div class="table-wrap">
          <table aria-label="Keys" data-testid="st-keys">
            <thead>
              <tr>
                <th scope="col">Kind</th>
                <th scope="col">Name</th>
                <th scope="col">Key starts</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {keys.data.keys.map((k) => (
                <tr data-testid={'st-key-' + k.id}>
                  <td>
                    <span class={'badge st-kind-' + k.kind}>{k.kind}</span>
                  </td>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.prefix}</code>
                  </td>
                  <td>{utc(k.created)}</td>
                  <td>
                    <Confirm
                      label="Revoke"
                      what={`the ${k.kind} key “${k.name}”`}
                      question={`Revoke “${k.name}”? What uses it stops at once, dashboard sessions opened with it included.`}
                      yes="Revoke"
                      disabled={revoke.busy}
                      testid={'st-revoke-' + k.id}
                      onYes={async () => {
                        const r = await revoke.run(() => send('DELETE', `/api/v1/keys/${k.id}`));
                        if (r.ok) reload();
                      }}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {keys.data && keys.data.keys.length === 0 && <p class="meta">The project has no live key.</p>}
      <ActionError error={revoke.error} testid="st-revoke-error" />
      <form
        class="st-form"
        onSubmit={async (e) => {
          e.preventDefault();
          const r = await make.run(() => send<Key & { key: string }>('POST', '/api/v1/keys', { kind, name: name.trim() }));
          if (r.ok) {
            setMade(r.value);
            setName('');
            reload();
          }
        }}
      >
        <label>
          Kind
          <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)} data-testid="st-key-kind">
            {KINDS.map((k) => (
              <option value={k.kind}>{k.kind}</option>
            ))}
          </select>
        </label>
        <label>
          Name
          <input type="text" value={name} maxLength={128} placeholder="e.g. grafana" onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="st-key-name" />
        </label>
        <button type="submit" disabled={make.busy} data-testid="st-key-create">
          Create key
        </button>
        <span class="meta">{KINDS.find((k) => k.kind === kind)?.what}</span>
        <ActionError error={make.error} testid="st-key-error" />
      </form>
      {made && (
        <SecretDialog title={`New ${made.kind} key “${made.name}”`} secrets={[{ label: made.kind + ' key', value: made.key }]} onClose={() => setMade(null)}>
          {made.kind === 'public' && <p class="meta">A public key is meant for pages: it is also kept in clear for the DSN.</p>}
        </SecretDialog>
      )}
    </Section>
  );
}

function schemaSummary(d: Dataset): string {
  const s = d.schema;
  if (!s) return 'positions only (index1, blob1…20, double1…20)';
  const parts: string[] = [];
  if (s.index) parts.push('index1 ' + s.index);
  s.blobs?.forEach((b, i) => b && parts.push(`blob${i + 1} ${b}`));
  s.doubles?.forEach((b, i) => b && parts.push(`double${i + 1} ${b}`));
  return parts.join(' · ') || 'positions only';
}

function DatasetsPanel({ view }: { view: View }) {
  const canChange = useCanChange();
  const [v, setV] = useState(0);
  const ds = useData(() => get<{ datasets: Dataset[] }>('/api/v1/datasets'), [view.project, v]);
  const [open, setOpen] = useState('');
  const rows = ds.data ? [...ds.data.datasets].sort((a, b) => a.name.localeCompare(b.name)) : [];
  const cols = canChange ? 6 : 5;
  return (
    <Section id="st-datasets" title="Datasets">
      <Failure error={ds.error} />
      {ds.data && rows.length === 0 && (
        <Empty
          what="No dataset has points yet. A dataset is made by its first write, e.g.:"
          snippet={`curl -X POST ${location.origin}/api/v1/datasets/signups/points \\
  -H "Authorization: Bearer $ALIDADE_WRITE_KEY" \\
  -d '{"blobs":["pro","FR"],"doubles":[1],"indexes":["pro"]}'`}
        />
      )}
      {rows.length > 0 && (
        <>
          <p class="meta">
            Retention “default” is the server’s (<code>--retention</code>, 90 days unless set). Built-in datasets have fixed schemas; your own datasets name their positions
            with a schema.
          </p>
          <div class="table-wrap">
            <table aria-label="Datasets" data-testid="st-datasets" class="st-datasets">
              <thead>
                <tr>
                  <th scope="col">Dataset</th>
                  <th scope="col" class="num">
                    Points
                  </th>
                  <th scope="col">Last point</th>
                  <th scope="col">Retention</th>
                  <th scope="col">Sampling</th>
                  {canChange && (
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  )}
                </tr>
              </thead>
              <tbody>
                {rows.map((d) => (
                  <Fragment key={d.name}>
                    <tr data-testid={'st-ds-' + d.name}>
                      <th scope="row">
                        <span class="st-ds-name">{d.name}</span>
                        {BUILTIN.has(d.name) && <span class="badge">built-in</span>}
                        <div class="st-schema" title={schemaSummary(d)}>
                          {schemaSummary(d)}
                        </div>
                      </th>
                      <td class="num" title={String(d.points)}>
                        {num(d.points)}
                      </td>
                      <td title={d.first ? `first ${utc(d.first)}, last ${utc(d.last)}` : undefined}>{ago(d.last)}</td>
                      <td data-testid={'st-ds-retention-' + d.name}>{d.retention ?? 'default'}</td>
                      <td>{d.sampling ? num(d.sampling.pointsPerSecond) + ' /s per index' : 'off'}</td>
                      {canChange && (
                        <td>
                          <button type="button" aria-expanded={open === d.name} aria-controls={'st-ds-edit-' + d.name} onClick={() => setOpen(open === d.name ? '' : d.name)} data-testid={'st-ds-edit-' + d.name}>
                            {open === d.name ? 'Close' : 'Edit'}
                          </button>
                        </td>
                      )}
                    </tr>
                    {canChange && open === d.name && (
                      <tr class="st-ds-editrow">
                        <td colSpan={cols} id={'st-ds-edit-' + d.name}>
                          <DatasetEditor d={d} onSaved={() => setV((n) => n + 1)} />
                        </td>
                      </tr>
                    )}
                  </Fragment>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </Section>
  );
}

function DatasetEditor({ d, onSaved }: { d: Dataset; onSaved: () => void }) {
  const builtin = BUILTIN.has(d.name);
  const [retention, setRetention] = useState(d.retention ?? '');
  const [sampling, setSampling] = useState(d.sampling ? String(d.sampling.pointsPerSecond) : '');
  const [schema, setSchema] = useState(() => JSON.stringify(d.schema ?? { index: '', blobs: [], doubles: [] }, null, 2));
  const patch = useAction();
  const put = useAction();
  const [saved, setSaved] = useState('');
  return (
    <div class="st-ds-editor">
      <form
        class="st-form"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved('');
          const pps = sampling.trim();
          const body = { retention: retention.trim() || 'default', sampling: pps === '' || pps === '0' ? null : { pointsPerSecond: Number(pps) } };
          const r = await patch.run(() => send<Dataset>('PATCH', `/api/v1/datasets/${encodeURIComponent(d.name)}`, body));
          if (r.ok) {
            setSaved('Saved.');
            onSaved();
          }
        }}
      >
        <label>
          Retention
          <input type="text" value={retention} placeholder="default" size={10} onInput={(e) => setRetention((e.target as HTMLInputElement).value)} data-testid="st-ds-retention" />
        </label>
        <label>
          Sampling (points/s per index)
          <input type="number" min={0} step="any" value={sampling} placeholder="off" size={8} onInput={(e) => setSampling((e.target as HTMLInputElement).value)} data-testid="st-ds-sampling" />
        </label>
        <button type="submit" disabled={patch.busy} data-testid="st-ds-save">
          Save
        </button>
        <span class="meta">
          A duration of at least 1h (<code>7d</code>, <code>720h</code>) or empty for the default; points older than the retention are removed. Sampling empty or 0 is off.
        </span>
        <span role="status" class="st-ok">
          {saved}
        </span>
        <ActionError error={patch.error} testid="st-ds-error" />
      </form>
      {builtin ? (
        <p class="meta">The schema of a built-in dataset is fixed (README, “Built-in datasets”).</p>
      ) : (
        <form
          class="st-schema-form"
          onSubmit={async (e) => {
            e.preventDefault();
            setSaved('');
            let body: unknown;
            try {
              body = JSON.parse(schema);
            } catch (err) {
              put.clear();
              await put.run(() => Promise.reject(new Error('The schema is not JSON: ' + (err as Error).message)));
              return;
            }
            const r = await put.run(() => send<Schema>('PUT', `/api/v1/datasets/${encodeURIComponent(d.name)}/schema`, body));
            if (r.ok) {
              setSaved('Schema saved.');
              onSaved();
            }
          }}
        >
          <label for={'st-schema-' + d.name}>
            Schema (JSON: <code>index</code>, <code>blobs</code>, <code>doubles</code> name the positions in order; optional <code>rollup</code>)
          </label>
          <textarea id={'st-schema-' + d.name} class="code" rows={8} spellcheck={false} value={schema} onInput={(e) => setSchema((e.target as HTMLTextAreaElement).value)} data-testid="st-ds-schema" />
          <button type="submit" disabled={put.busy} data-testid="st-ds-schema-save">
            Save schema
          </button>
          <ActionError error={put.error} testid="st-ds-schema-error" />
        </form>
      )}
    </div>
  );
}

function OriginsPanel({ pid, project, onSaved }: { pid: number; project: Project | null; onSaved: () => void }) {
  const [text, setText] = useState<string | null>(null); // null: not edited
  const act = useAction();
  const [saved, setSaved] = useState('');
  const current = project?.allowedOrigins ?? [];
  const value = text ?? current.join('\n');
  return (
    <Section id="st-origins" title="Allowed origins">
      <p class="meta">
        The browser origins the project’s keys may be used from on the beacon and the Sentry endpoints, one per line as browsers send them (
        <code>https://app.example.com</code>, <code>http://localhost:3000</code>: no path). <strong>With none listed, any origin may post.</strong>
      </p>
      <form
        class="st-origins"
        onSubmit={async (e) => {
          e.preventDefault();
          setSaved('');
          const list = value
            .split(/[\n,]/)
            .map((x) => x.trim())
            .filter(Boolean);
          const r = await act.run(() => send<Project>('PATCH', `/api/v1/projects/${pid}`, { allowedOrigins: list }));
          if (r.ok) {
            setText(null);
            setSaved(r.value.allowedOrigins.length ? `Saved: ${r.value.allowedOrigins.length} origin${r.value.allowedOrigins.length === 1 ? '' : 's'}.` : 'Saved: any origin may post.');
            onSaved();
          }
        }}
      >
        <label for="st-origins-text" class="sr-only">
          Allowed origins, one per line
        </label>
        <textarea
          id="st-origins-text"
          class="code"
          rows={Math.max(3, Math.min(value.split('\n').length + 1, 12))}
          spellcheck={false}
          placeholder="https://app.example.com"
          value={value}
          disabled={!project}
          onInput={(e) => setText((e.target as HTMLTextAreaElement).value)}
          data-testid="st-origins"
        />
        <div class="st-form">
          <button type="submit" disabled={act.busy || !project || text === null} data-testid="st-origins-save">
            Save origins
          </button>
          {text !== null && (
            <button type="button" onClick={() => setText(null)}>
              Discard changes
            </button>
          )}
          <span role="status" class="st-ok">
            {saved}
          </span>
        </div>
        <ActionError error={act.error} testid="st-origins-error" />
      </form>
    </Section>
  );
}

// isForbidden tells a 403 (what a read session may not see) from a failure.
export function isForbidden(e: Error | null): boolean {
  return e instanceof ApiError && e.status === 403;
}
