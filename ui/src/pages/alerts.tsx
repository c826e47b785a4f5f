// Alerts: the project's rules with their states (GET /api/v1/alerts),
// read again as often as the fastest rule is evaluated; /alerts/{id} is a
// rule's page with its history (alert-detail.tsx, the link notifications
// carry), /alerts/new and /alerts/{id}?edit=1 its form (alert-form.tsx).
// Changes are the admin's; a read session sees the rules and their
// targets cut to their host.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, get } from '../api';
import { ago } from '../format';
import { View } from '../state';
import { Column, Empty, Failure, Panel, Table, useData } from '../ui';
import { AlertDetail } from './alert-detail';
import { AlertForm } from './alert-form';
import { AlertLink, condition, describe, pollMs, Rule, StateBadge, usePoll, value } from './alerts-parts';
import { useCanChange } from './settings-parts';
import './alerts.css';

export function Alerts({ view }: { view: View }) {
  if (view.path === '/alerts/new') return <AlertForm view={view} id={0} />;
  const m = /^\/alerts\/(\d+)\/?$/.exec(view.path);
  if (m) return view.params.get('edit') ? <AlertForm view={view} id={Number(m[1])} /> : <AlertDetail view={view} id={Number(m[1])} />;
  if (view.path !== '/alerts' && view.path !== '/alerts/')
    return (
      <p class="failure" role="alert">
        No such page: {view.path}. <a href={'/alerts' + location.search}>All alert rules</a>
      </p>
    );
  return <AlertList view={view} />;
}

const example = () => `curl -X POST ${location.origin}/api/v1/alerts -H "Authorization: Bearer $ALIDADE_ADMIN_KEY" -d '{
  "name": "chat errors",
  "query": {"dataset": "requests", "range": "5m",
            "aggregations": {"errorRate": {"type": "percentage", "filter": {"field": "status", "op": ">=", "value": 500}}}},
  "condition": {"op": ">", "value": 5}, "for": "2m", "every": "30s",
  "notify": [{"type": "webhook", "url": "https://ops.example.com/hooks/alidade"}]}'`;

function AlertList({ view }: { view: View }) {
  const canChange = useCanChange();
  const [ms, setMs] = useState(15_000);
  const poll = usePoll(ms, view.live);
  const list = useData(() => get<{ alerts: Rule[] }>('/api/v1/alerts'), [view.project, poll]);
  const rules = list.data?.alerts ?? null;
  const error = list.error;
  useEffect(() => setMs(pollMs(rules?.map((r) => r.every) ?? [])), [rules]);
  const notAvailable = error instanceof ApiError && error.status === 501;
  const firing = rules?.filter((r) => r.state === 'firing').length ?? 0;
  const pending = rules?.filter((r) => r.state === 'pending').length ?? 0;
  const columns: Column<Rule>[] = [
    {
      key: 'name',
      label: 'Rule',
      value: (r) => r.name.toLowerCase(),
      render: (r) => (
        <div class="al-name-cell">
          <AlertLink href={'/alerts/' + r.id} cls="al-name" testid={'al-rule-' + r.id}>
            {r.name}
          </AlertLink>
          <div class="al-what" title={JSON.stringify(r.query)}>
            {describe(r.query)}
          </div>
          {r.error && (
            <div class="al-err" title={r.error}>
              query failed: {r.error}
            </div>
          )}
        </div>
      ),
    },
    { key: 'state', label: 'State', value: (r) => ['ok', 'resolved', 'pending', 'firing'].indexOf(r.state), render: (r) => <StateCell r={r} /> },
    { key: 'value', label: 'Value', value: (r) => r.value, render: (r) => <span data-testid="al-value">{value(r.value)}</span>, numeric: true },
    {
      key: 'condition',
      label: 'Condition',
      value: (r) => r.condition.op + r.condition.value,
      render: (r) => (
        <>
          <code>{condition(r.condition)}</code>
          <div class="al-what">
            for {r.for} · every {r.every}
          </div>
        </>
      ),
    },
    {
      key: 'last',
      label: 'Last evaluation',
      value: (r) => r.lastEvaluation ?? '',
      render: (r) => <span title={r.lastEvaluation ?? 'not evaluated yet'}>{r.lastEvaluation ? ago(r.lastEvaluation) : 'not yet'}</span>,
    },
    {
      key: 'source',
      label: 'Source',
      value: (r) => r.source ?? '',
      render: (r) => (r.source ? <span class={'badge al-src-' + r.source} title={r.sourceNote || (r.source === 'rollup' ? 'answered from rollups' : '')}>{r.source}</span> : '–'),
    },
    { key: 'notify', label: 'Notifies', value: (r) => r.notify.length, render: (r) => (r.notify.length ? r.notify.map((t) => t.type).join(', ') : 'nobody') },
  ];
  return (
    <>
      <div class="al-bar">
        <p class="meta" aria-live="polite" data-testid="al-summary">
          {rules ? `${rules.length} rule${rules.length === 1 ? '' : 's'}` : ''}
          {firing ? ` · ${firing} firing` : ''}
          {pending ? ` · ${pending} pending` : ''}
          {rules && !view.live ? ' · not refreshed (Live is off)' : ''}. A rule's window is its own: the range above does not apply.
        </p>
        {canChange && (
          <AlertLink href="/alerts/new" cls="al-new st-primary" testid="al-new">
            New rule
          </AlertLink>
        )}
      </div>
      {error && !rules && (notAvailable ? <p class="meta">This server keeps no alert rules (its store has none).</p> : <Failure error={error} />)}
      {rules && rules.length === 0 && (
        <Panel title="Alert rules" wide>
          <Empty
            what={canChange ? 'No rule yet. Create one with New rule, or with the API:' : 'No rule yet. An admin session (or admin key) creates them, e.g.:'}
            snippet={example()}
          />
        </Panel>
      )}
      {rules && rules.length > 0 && (
        <Panel title="Alert rules" wide>
          <div data-testid="al-list">
            <Table rows={rules} columns={columns} initial="state" label="Alert rules" />
          </div>
          {error && <Failure error={error} />}
        </Panel>
      )}
    </>
  );
}

function StateCell({ r }: { r: Rule }) {
  return (
    <span class="al-state-cell" data-testid={'al-state-' + r.id}>
      <StateBadge state={r.state} />
      <span class="meta" title={r.since}>
        {' '}
        {ago(r.since)}
      </span>
    </span>
  );
}
