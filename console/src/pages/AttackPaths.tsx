import { useMemo } from 'react';
import { Link } from 'react-router-dom';
import { Page, query } from '../api';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { TimeTravel, unsupported } from '../components/TimeTravel';
import { useFetch, useUrlState } from '../hooks';
import { AttackPath, normalisePath, pathsUrl, riskFactors, TARGET_KINDS } from '../paths';

/** A path's deep link: its cluster and its rank among that cluster's paths. */
export function pathLink(p: AttackPath, rankInCluster: number, assumeBreach: boolean, snapshot: string | null): string {
  return `/attack-paths/${encodeURIComponent(p.cluster)}/${rankInCluster + 1}${query({ assumeBreach: assumeBreach || undefined, snapshot })}`;
}

function ranksInCluster(paths: AttackPath[]): number[] {
  const seen = new Map<string, number>();
  return paths.map((p) => {
    const n = seen.get(p.cluster) ?? 0;
    seen.set(p.cluster, n + 1);
    return n;
  });
}

function Factors({ p }: { p: AttackPath }) {
  const f = riskFactors(p);
  const on = [
    f.internet && 'internet-exposed',
    f.kev && 'KEV',
    f.epss && 'EPSS',
    f.exploit && 'exploit',
    f.privilege && 'privilege',
  ].filter(Boolean) as string[];
  return (
    <ul className="chips" aria-label="Risk factors">
      {on.map((x) => (
        <li key={x}>{x}</li>
      ))}
    </ul>
  );
}

export default function AttackPaths() {
  const [params, update] = useUrlState();
  const cluster = params.get('cluster');
  const assumeBreach = params.get('assumeBreach') === 'true';
  const target = params.get('target') ?? '';
  const factor = params.get('factor') ?? '';
  const text = params.get('q') ?? '';
  const snapshot = cluster ? params.get('snapshot') : null;
  const fetched = useFetch<Page<Record<string, unknown>>>(pathsUrl(cluster, assumeBreach, snapshot));
  const clusters = useFetch<{ items: { clusterId: string }[] }>('/api/v1/clusters');
  const all = useMemo(() => (fetched.data?.items ?? []).map(normalisePath), [fetched.data]);
  const ranks = useMemo(() => ranksInCluster(all), [all]);
  const shown = all
    .map((p, i) => ({ p, i }))
    .filter(({ p }) => !target || p.targetKind === target)
    .filter(({ p }) => !factor || riskFactors(p)[factor as keyof ReturnType<typeof riskFactors>])
    .filter(({ p }) => !text || (p.entry + ' ' + p.target + ' ' + p.story).toLowerCase().includes(text.toLowerCase()));
  return (
    <>
      <h1>Attack paths</h1>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Filter attack paths">
        <label>
          Cluster
          <select value={cluster ?? ''} onChange={(e) => update({ cluster: e.target.value, snapshot: null })}>
            <option value="">All clusters</option>
            {(clusters.data?.items ?? []).map((c) => (
              <option key={c.clusterId} value={c.clusterId}>
                {c.clusterId}
              </option>
            ))}
          </select>
        </label>
        <label>
          Target
          <select value={target} onChange={(e) => update({ target: e.target.value })}>
            <option value="">Any target</option>
            {Object.entries(TARGET_KINDS).map(([k, v]) => (
              <option key={k} value={k}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label>
          Risk factor
          <select value={factor} onChange={(e) => update({ factor: e.target.value })}>
            <option value="">Any</option>
            <option value="internet">Internet-exposed entry</option>
            <option value="kev">Known exploited (KEV)</option>
            <option value="epss">EPSS</option>
            <option value="exploit">Public exploit</option>
            <option value="privilege">Privilege</option>
          </select>
        </label>
        <label>
          Search
          <input type="search" value={text} onChange={(e) => update({ q: e.target.value }, false)} />
        </label>
        <label className="check">
          <input
            type="checkbox"
            checked={assumeBreach}
            onChange={(e) => update({ assumeBreach: e.target.checked ? 'true' : null })}
          />
          Assume breach (paths from every workload, not only exposed ones)
        </label>
      </form>
      {fetched.loading && <Loading what="attack paths" />}
      {cluster && <TimeTravel cluster={cluster} />}
      {fetched.error !== undefined &&
        (snapshot && unsupported(fetched.error) ? (
          <p className="state unavailable" role="alert">
            Not available on this server: it serves the attack paths of the latest snapshot only.{' '}
            <button type="button" className="link-button" onClick={() => update({ snapshot: null })}>
              Show the latest
            </button>
          </p>
        ) : (
          <ErrorState error={fetched.error} what="attack paths" />
        ))}
      {fetched.data && all.length === 0 && (
        <Empty
          why="No attack path reaches a crown jewel (cluster-admin, a node, a sensitive namespace, secrets) from an exposed entry in the latest snapshots."
          fix="Tick “Assume breach” to see what a compromised workload could reach, or check the cluster's last snapshot on the Clusters page."
        />
      )}
      {fetched.data && all.length > 0 && shown.length === 0 && (
        <Empty why={`None of the ${all.length} paths match these filters.`} fix="Clear a filter." />
      )}
      {shown.length > 0 && (
        <table className="data" aria-label="Attack paths, highest score first">
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Score</th>
              <th scope="col">Entry</th>
              <th scope="col">Target</th>
              <th scope="col">Steps</th>
              <th scope="col">Risk factors</th>
              <th scope="col">Cluster</th>
            </tr>
          </thead>
          <tbody>
            {shown.map(({ p, i }) => (
              <tr key={i} data-testid="path-row">
                <td>{i + 1}</td>
                <td className="num">{p.score.toFixed(1)}</td>
                <td>
                  <Link to={pathLink(p, ranks[i], assumeBreach, snapshot)}>
                    <Text value={p.entry} max={60} />
                  </Link>
                </td>
                <td>
                  <Text value={p.target} max={60} /> <span className="muted">({TARGET_KINDS[p.targetKind] ?? p.targetKind})</span>
                </td>
                <td className="num">{p.steps.length}</td>
                <td>
                  <Factors p={p} />
                </td>
                <td>
                  <Text value={p.cluster} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
