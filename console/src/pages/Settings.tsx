import { useState } from 'react';
import { ApiError, sendJson } from '../api';
import { TargetStatus, TargetTable } from '../components/Freshness';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { useFetch, when } from '../hooks';
import { useSession } from '../session';

// The two extensions per cluster and per registry, schedules, target status and tokens.
// Read tokens see everything here; the server refuses their changes (403) and the
// controls say so before they try.

type Obj = Record<string, unknown>;
interface Settings {
  clusters?: Obj[];
  registries?: Obj[];
  schedules?: Record<string, string>;
  extensions?: Record<string, boolean>;
  [k: string]: unknown;
}

const first = (o: Obj, ...keys: string[]) => keys.map((k) => o[k]).find((v) => v !== undefined);

function TargetForm({
  kind,
  target,
  defaults,
  canChange,
  onSaved,
}: {
  kind: 'clusters' | 'registries';
  target: Obj;
  defaults: Settings;
  canChange: boolean;
  onSaved: () => void;
}) {
  const cluster = kind === 'clusters';
  const name = String(target.name ?? '');
  const enabledKey = cluster ? 'discoveryEnabled' : 'assessmentEnabled';
  const intervalKey = cluster ? 'snapshotInterval' : 'pollInterval';
  const enabled0 = Boolean(first(target, enabledKey, cluster ? 'kubernetesDiscovery' : 'registryAssessment'));
  const interval0 = String(first(target, intervalKey) ?? defaults.schedules?.[cluster ? 'clusterSnapshot' : 'registryPoll'] ?? '');
  const [enabled, setEnabled] = useState(enabled0);
  const [interval, setInterval] = useState(interval0);
  const [include, setInclude] = useState(((target.include as string[]) ?? []).join('\n'));
  const [exclude, setExclude] = useState(((target.exclude as string[]) ?? []).join('\n'));
  const [result, setResult] = useState<{ ok?: string; error?: unknown }>({});
  const id = `${kind}-${name}`.replace(/[^A-Za-z0-9_-]/g, '_');
  const lines = (s: string) => s.split('\n').map((x) => x.trim()).filter(Boolean);
  return (
    <form
      className="target-form"
      aria-labelledby={`${id}-title`}
      data-testid={`settings-${kind}-${name}`}
      onSubmit={async (e) => {
        e.preventDefault();
        setResult({});
        const body: Obj = { [enabledKey]: enabled, [intervalKey]: interval.trim() };
        if (!cluster) Object.assign(body, { include: lines(include), exclude: lines(exclude) });
        try {
          await sendJson('PATCH', `/api/v1/settings/${kind}/${encodeURIComponent(name)}`, body);
          setResult({ ok: `Saved at ${new Date().toLocaleTimeString()}; the scheduler applies it without a restart.` });
          onSaved();
        } catch (err) {
          setResult({ error: err });
        }
      }}
    >
      <h3 id={`${id}-title`}>
        {cluster ? 'Cluster' : 'Registry'} <Text value={name} />
        {target.url ? (
          <span className="muted">
            {' '}
            (<Text value={target.url} />)
          </span>
        ) : null}
      </h3>
      <fieldset disabled={!canChange}>
        <legend>{cluster ? 'Kubernetes discovery' : 'Registry vulnerability assessment'}</legend>
        <label className="check">
          <input type="checkbox" name="enabled" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Enabled
        </label>
        <label>
          {cluster ? 'Snapshot every' : 'Poll every'}
          <input name="interval" value={interval} onChange={(e) => setInterval(e.target.value)} aria-describedby={`${id}-interval-help`} />
        </label>
        <span id={`${id}-interval-help`} className="help">
          A duration such as 10m or 1h.
        </span>
        {!cluster && (
          <>
            <label>
              Include repositories (one glob a line)
              <textarea name="include" rows={2} value={include} onChange={(e) => setInclude(e.target.value)} />
            </label>
            <label>
              Exclude repositories (one glob a line)
              <textarea name="exclude" rows={2} value={exclude} onChange={(e) => setExclude(e.target.value)} />
            </label>
          </>
        )}
        <button type="submit">Save</button>
      </fieldset>
      {result.ok && (
        <p role="status" className="status-ok">
          {result.ok}
        </p>
      )}
      {result.error !== undefined && <ErrorState error={result.error} what="settings change" />}
    </form>
  );
}

function Tokens() {
  const tokens = useFetch<{ items: { name: string; role: string; createdAt?: string; lastUsed?: string | null }[] }>('/api/v1/tokens');
  const [name, setName] = useState('');
  const [role, setRole] = useState('read');
  const [created, setCreated] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  if (tokens.error instanceof ApiError && tokens.error.missingEndpoint) return <ErrorState error={tokens.error} what="tokens" />;
  return (
    <>
      {tokens.loading && <Loading what="tokens" />}
      {tokens.error !== undefined && <ErrorState error={tokens.error} what="tokens" />}
      {tokens.data && (
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Last used</th>
              <th scope="col">Revoke</th>
            </tr>
          </thead>
          <tbody>
            {tokens.data.items.map((t) => (
              <tr key={t.name}>
                <td>
                  <Text value={t.name} />
                </td>
                <td>{t.role}</td>
                <td>{when(t.createdAt)}</td>
                <td>{when(t.lastUsed)}</td>
                <td>
                  <button
                    type="button"
                    className="small"
                    aria-label={`Revoke token ${t.name}`}
                    onClick={async () => {
                      try {
                        await sendJson('DELETE', `/api/v1/tokens/${encodeURIComponent(t.name)}`);
                        tokens.reload();
                      } catch (e) {
                        setError(e);
                      }
                    }}
                  >
                    Revoke
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form
        className="inline"
        aria-label="Create a token"
        onSubmit={async (e) => {
          e.preventDefault();
          setError(undefined);
          try {
            const r = await sendJson<{ token: string }>('POST', '/api/v1/tokens', { name: name.trim(), role });
            setCreated(r?.token ?? null);
            setName('');
            tokens.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          New token name
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <label>
          Role
          <select value={role} onChange={(e) => setRole(e.target.value)}>
            <option value="read">read</option>
            <option value="admin">admin</option>
          </select>
        </label>
        <button type="submit">Create token</button>
      </form>
      {created && (
        <div role="status" className="state">
          <p>Copy this token now; it is not shown again:</p>
          <pre tabIndex={0}>
            <code>{created}</code>
          </pre>
        </div>
      )}
      {error !== undefined && <ErrorState error={error} what="token change" />}
    </>
  );
}

export default function SettingsPage() {
  const { session } = useSession();
  const settings = useFetch<Settings>('/api/v1/settings');
  const status = useFetch<{ targets: TargetStatus[] }>('/api/v1/status');
  const canChange = session?.role !== 'read';
  return (
    <>
      <h1>Settings</h1>
      {!canChange && (
        <p className="state" role="note" data-testid="read-only-note">
          You are signed in with a read token: you can see the settings but not change them. Sign in with an admin token to change
          them.
        </p>
      )}
      {settings.loading && <Loading what="settings" />}
      {settings.error !== undefined && <ErrorState error={settings.error} what="settings" />}
      {settings.data && (
        <>
          <h2>Extensions</h2>
          {(settings.data.clusters ?? []).length === 0 && (settings.data.registries ?? []).length === 0 && (
            <Empty why="No cluster or registry is configured." fix="Add [[clusters]] or [[registries]] to crowsnest.toml." />
          )}
          {(['clusters', 'registries'] as const).map((kind) =>
            (settings.data![kind] ?? []).map((t) => (
              <TargetForm
                key={`${kind}/${String(t.name)}/${JSON.stringify(t)}`}
                kind={kind}
                target={t}
                defaults={settings.data!}
                canChange={canChange}
                onSaved={settings.reload}
              />
            )),
          )}
          <h2>Schedules</h2>
          <dl className="facts">
            {Object.entries(settings.data.schedules ?? {}).map(([k, v]) => (
              <div key={k} className="contents">
                <dt>{k}</dt>
                <dd>
                  <Text value={v} />
                </dd>
              </div>
            ))}
          </dl>
        </>
      )}
      <h2>Target status</h2>
      {status.error !== undefined && <ErrorState error={status.error} what="status" />}
      {status.data && <TargetTable targets={status.data.targets} caption="Registries, clusters and feeds" />}
      <h2>API tokens</h2>
      {canChange ? <Tokens /> : <p className="muted">Only admin tokens manage tokens.</p>}
    </>
  );
}
