import { useMemo } from 'react';
import { Page, query } from '../api';
import { TargetStatus, TargetTable } from '../components/Freshness';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { useFetch, useUrlState, when } from '../hooks';

// Clusters: resources by kind from the latest snapshot, insights per resource with their
// evidence, Pod Security Standards posture, snapshot history and the diff of two.

interface ClusterItem {
  clusterId: string;
  status: string;
  latestSnapshot: number;
  lastSnapshotAt: string;
  snapshots: number;
}
interface Insight {
  kind: string;
  node_key?: string;
  nodeKey?: string;
  evidence: string[];
}
interface SnapshotBody {
  snapshot: { objects: Record<string, Record<string, unknown>[]>; gaps?: { kind: string; reason: unknown; message: string }[] };
}
interface ObjectRef {
  kind: string;
  key: string;
}
interface Diff {
  diff: { added: ObjectRef[]; removed: ObjectRef[]; changed: { object: ObjectRef; fields: string[]; more_fields?: number }[] };
}

const TABS: [string, string][] = [
  ['resources', 'Resources'],
  ['insights', 'Insights'],
  ['pss', 'Pod Security'],
  ['history', 'History and drift'],
];

function objectName(o: Record<string, unknown>): string {
  const m = (o.metadata ?? {}) as { name?: string; namespace?: string };
  return m.namespace ? `${m.namespace}/${m.name}` : String(m.name ?? '?');
}

function Pairs({ title, map }: { title: string; map: unknown }) {
  const entries = map && typeof map === 'object' ? Object.entries(map as Record<string, unknown>) : [];
  return (
    <>
      <h4>{title}</h4>
      {entries.length === 0 ? (
        <p className="muted">none</p>
      ) : (
        <dl className="facts" data-testid={title.toLowerCase()}>
          {entries.map(([k, v]) => (
            <div key={k} className="contents">
              <dt>
                <Text value={k} max={80} />
              </dt>
              <dd>
                <Text value={v} max={200} />
              </dd>
            </div>
          ))}
        </dl>
      )}
    </>
  );
}

/** One object of the snapshot: its labels, annotations and the stored object as text. */
function ResourceDetail({ object }: { object?: Record<string, unknown> }) {
  if (!object) return <Empty why="This resource is not in the latest snapshot." />;
  const meta = (object.metadata ?? {}) as Record<string, unknown>;
  return (
    <section aria-labelledby="resource-title" className="panel">
      <h3 id="resource-title">
        <Text value={objectName(object)} max={100} />
      </h3>
      <Pairs title="Labels" map={meta.labels} />
      <Pairs title="Annotations" map={meta.annotations} />
      <details>
        <summary>Stored object (JSON)</summary>
        <pre tabIndex={0}>
          <Text value={JSON.stringify(object, null, 2)} max={20000} />
        </pre>
      </details>
    </section>
  );
}

function Resources({ snapshot }: { snapshot: number }) {
  const [params, update] = useUrlState();
  const kind = params.get('kind');
  const resource = params.get('resource');
  const body = useFetch<SnapshotBody>(`/api/v1/snapshots/${snapshot}`);
  if (body.loading) return <Loading what="the snapshot" />;
  if (body.error !== undefined) return <ErrorState error={body.error} what="snapshot" />;
  const objects = body.data!.snapshot.objects ?? {};
  const kinds = Object.keys(objects).sort();
  const gaps = body.data!.snapshot.gaps ?? [];
  return (
    <div className="split">
      <nav aria-label="Kinds">
        <ul className="plain">
          {kinds.map((k) => (
            <li key={k}>
              <button type="button" className="link-button" aria-pressed={kind === k} onClick={() => update({ kind: k, resource: null })}>
                {k}
              </button>{' '}
              <span className="muted">{objects[k].length}</span>
            </li>
          ))}
        </ul>
        {gaps.length > 0 && (
          <>
            <h3>Not collected</h3>
            <ul>
              {gaps.map((g, i) => (
                <li key={i}>
                  <Text value={g.kind} />: <Text value={g.message} max={200} />
                </li>
              ))}
            </ul>
          </>
        )}
      </nav>
      <div>
        {!kind && <p className="muted">Pick a kind.</p>}
        {kind && (
          <ul data-testid="resources" className="plain">
            {(objects[kind] ?? []).map((o, i) => (
              <li key={i}>
                <button
                  type="button"
                  className="link-button"
                  aria-pressed={resource === objectName(o)}
                  onClick={() => update({ resource: objectName(o) })}
                >
                  <Text value={objectName(o)} max={100} />
                </button>
              </li>
            ))}
          </ul>
        )}
        {kind && resource && <ResourceDetail object={(objects[kind] ?? []).find((o) => objectName(o) === resource)} />}
      </div>
    </div>
  );
}

function Insights({ cluster, pss }: { cluster: string; pss: boolean }) {
  const insights = useFetch<Page<Insight>>(`/api/v1/insights${query({ cluster, limit: 1000 })}`);
  const byNode = useMemo(() => {
    const map = new Map<string, Insight[]>();
    for (const i of insights.data?.items ?? []) {
      if (pss !== /podSecurity/i.test(i.kind)) continue;
      const k = i.nodeKey ?? i.node_key ?? '?';
      map.set(k, [...(map.get(k) ?? []), i]);
    }
    return [...map].sort((a, b) => a[0].localeCompare(b[0]));
  }, [insights.data, pss]);
  if (insights.loading) return <Loading what="insights" />;
  if (insights.error !== undefined) return <ErrorState error={insights.error} what="insights" />;
  if (byNode.length === 0) {
    return pss ? (
      <Empty why="No pod of the latest snapshot violates the Pod Security Standards baseline or restricted profile." />
    ) : (
      <Empty why="The latest snapshot has no insight (exposure, privilege, secrets access …) on any resource." />
    );
  }
  return (
    <>
      {pss && (
        <p data-testid="pss-summary">
          {byNode.length} pod{byNode.length === 1 ? '' : 's'} violate a Pod Security Standards profile.
        </p>
      )}
      <ul className="insights">
        {byNode.map(([node, list]) => (
          <li key={node}>
            <strong>
              <Text value={node} max={100} />
            </strong>
            <ul>
              {list.map((i, n) => (
                <li key={n}>
                  {i.kind}
                  {i.evidence.length > 0 && (
                    <ul className="evidence">
                      {i.evidence.map((e, k) => (
                        <li key={k}>
                          <Text value={e} max={300} />
                        </li>
                      ))}
                    </ul>
                  )}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </>
  );
}

function History({ cluster }: { cluster: string }) {
  const [params, update] = useUrlState();
  const list = useFetch<Page<{ id: number; takenAt: string; status: string }>>(`/api/v1/snapshots${query({ cluster, limit: 100 })}`);
  const from = params.get('from');
  const to = params.get('to');
  const diff = useFetch<Diff>(from && to ? `/api/v1/snapshots/diff${query({ from, to })}` : null);
  if (list.loading) return <Loading what="snapshots" />;
  if (list.error !== undefined) return <ErrorState error={list.error} what="snapshots" />;
  const snaps = list.data!.items;
  return (
    <>
      <form className="filters" aria-label="Compare two snapshots" onSubmit={(e) => e.preventDefault()}>
        {(['from', 'to'] as const).map((k) => (
          <label key={k}>
            {k === 'from' ? 'Older snapshot' : 'Newer snapshot'}
            <select value={params.get(k) ?? ''} onChange={(e) => update({ [k]: e.target.value })}>
              <option value="">Pick one</option>
              {snaps.map((s) => (
                <option key={s.id} value={s.id}>
                  #{s.id} {when(s.takenAt)} ({s.status})
                </option>
              ))}
            </select>
          </label>
        ))}
      </form>
      {snaps.length < 2 && <Empty why="Drift needs two snapshots; this cluster has fewer." fix="Wait for the next snapshot (see its schedule under Settings)." />}
      {diff.loading && <Loading what="the diff" />}
      {diff.error !== undefined && <ErrorState error={diff.error} what="snapshot diff" />}
      {diff.data && (
        <div data-testid="diff">
          <h3>Added ({diff.data.diff.added.length})</h3>
          <ul>
            {diff.data.diff.added.map((o, i) => (
              <li key={i}>
                {o.kind} <Text value={o.key} />
              </li>
            ))}
          </ul>
          <h3>Removed ({diff.data.diff.removed.length})</h3>
          <ul>
            {diff.data.diff.removed.map((o, i) => (
              <li key={i}>
                {o.kind} <Text value={o.key} />
              </li>
            ))}
          </ul>
          <h3>Changed ({diff.data.diff.changed.length})</h3>
          <ul>
            {diff.data.diff.changed.map((c, i) => (
              <li key={i}>
                {c.object.kind} <Text value={c.object.key} />: {c.fields.map((f, k) => <span key={k}>{k > 0 && ', '}<Text value={f} /></span>)}
                {c.more_fields ? ` and ${c.more_fields} more` : ''}
              </li>
            ))}
          </ul>
        </div>
      )}
      <h3>Snapshots</h3>
      <ul>
        {snaps.map((s) => (
          <li key={s.id}>
            #{s.id} taken {when(s.takenAt)} — {s.status}
          </li>
        ))}
      </ul>
    </>
  );
}

export default function Clusters() {
  const [params, update] = useUrlState();
  const clusters = useFetch<{ items: ClusterItem[]; monitoring: TargetStatus[] }>('/api/v1/clusters');
  const selected = params.get('cluster') ?? clusters.data?.items[0]?.clusterId ?? null;
  const tab = params.get('tab') ?? 'resources';
  const current = clusters.data?.items.find((c) => c.clusterId === selected);
  return (
    <>
      <h1>Clusters</h1>
      {clusters.loading && <Loading what="clusters" />}
      {clusters.error !== undefined && <ErrorState error={clusters.error} what="clusters" />}
      {clusters.data && clusters.data.monitoring.length > 0 && <TargetTable targets={clusters.data.monitoring} caption="Discovery" />}
      {clusters.data && clusters.data.items.length === 0 && (
        <Empty
          why="No cluster has a snapshot yet."
          fix="Add a [[clusters]] entry with a read-only kubeconfig (deploy/rbac.yaml) to crowsnest.toml; a failing one shows its error in the table above."
        />
      )}
      {clusters.data && clusters.data.items.length > 0 && (
        <>
          <label>
            Cluster{' '}
            <select value={selected ?? ''} onChange={(e) => update({ cluster: e.target.value, kind: null, from: null, to: null })}>
              {clusters.data.items.map((c) => (
                <option key={c.clusterId} value={c.clusterId}>
                  {c.clusterId}
                </option>
              ))}
            </select>
          </label>
          {current && (
            <p className="muted">
              Latest snapshot #{current.latestSnapshot} taken {when(current.lastSnapshotAt)} ({current.status}); {current.snapshots} snapshots kept.
            </p>
          )}
          <div role="tablist" aria-label="Cluster views" className="toolbar">
            {TABS.map(([k, label]) => (
              <button key={k} type="button" role="tab" aria-selected={tab === k} onClick={() => update({ tab: k === 'resources' ? null : k })}>
                {label}
              </button>
            ))}
          </div>
          <div role="tabpanel" aria-label={TABS.find(([k]) => k === tab)?.[1]}>
            {current && tab === 'resources' && <Resources snapshot={current.latestSnapshot} />}
            {current && tab === 'insights' && <Insights cluster={current.clusterId} pss={false} />}
            {current && tab === 'pss' && <Insights cluster={current.clusterId} pss />}
            {current && tab === 'history' && <History cluster={current.clusterId} />}
          </div>
        </>
      )}
    </>
  );
}
