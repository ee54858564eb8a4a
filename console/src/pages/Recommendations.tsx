import { Page, query } from '../api';
import { Severity } from '../components/Severity';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { useFetch, useUrlState } from '../hooks';

// What to fix: per registry image, per running workload (by exposure), per posture issue,
// each with the resources it affects and the fix.

interface Recommendation {
  kind: string;
  id: string;
  title: string;
  severity: string;
  priority: number;
  findingsBySeverity?: [string, number][];
  resources: { key: string; label: string; details: string[] }[];
  fix: string;
  cluster: string;
}

const KINDS: [string, string][] = [
  ['runningContainerVulnerabilities', 'Running workloads (by exposure)'],
  ['imageVulnerabilities', 'Registry images'],
  ['posture', 'Posture issues'],
];

export default function Recommendations() {
  const [params, update] = useUrlState();
  const cluster = params.get('cluster');
  const kind = params.get('kind') ?? '';
  const recs = useFetch<Page<Recommendation>>(`/api/v1/recommendations${query({ cluster, limit: 1000 })}`);
  const items = (recs.data?.items ?? []).filter((r) => !kind || r.kind === kind).sort((a, b) => b.priority - a.priority);
  return (
    <>
      <h1>Recommendations</h1>
      <form className="filters" aria-label="Filter recommendations" onSubmit={(e) => e.preventDefault()}>
        <label>
          Kind
          <select value={kind} onChange={(e) => update({ kind: e.target.value })}>
            <option value="">All</option>
            {KINDS.map(([k, l]) => (
              <option key={k} value={k}>
                {l}
              </option>
            ))}
          </select>
        </label>
      </form>
      {recs.loading && <Loading what="recommendations" />}
      {recs.error !== undefined && <ErrorState error={recs.error} what="recommendations" />}
      {recs.data && items.length === 0 && (
        <Empty why={kind ? 'No recommendation of this kind.' : 'Nothing to recommend: no cluster snapshot yet, or nothing found in it.'} />
      )}
      <ol className="recs">
        {items.map((r) => (
          <li key={r.cluster + r.id} data-testid="recommendation">
            <h2>
              <Severity value={r.severity} /> <Text value={r.title} max={160} />
            </h2>
            <p className="muted">
              {KINDS.find(([k]) => k === r.kind)?.[1] ?? r.kind} · priority {r.priority.toFixed(1)} · cluster <Text value={r.cluster} />
              {r.findingsBySeverity && ' · ' + r.findingsBySeverity.map(([s, n]) => `${n} ${s}`).join(', ')}
            </p>
            <p>
              <strong>Fix:</strong> <Text value={r.fix} max={400} />
            </p>
            <details>
              <summary>
                {r.resources.length} affected resource{r.resources.length === 1 ? '' : 's'}
              </summary>
              <ul>
                {r.resources.map((x, i) => (
                  <li key={i}>
                    <Text value={x.label || x.key} max={100} />
                    {x.details.length > 0 && (
                      <ul>
                        {x.details.map((d, k) => (
                          <li key={k}>
                            <Text value={d} max={200} />
                          </li>
                        ))}
                      </ul>
                    )}
                  </li>
                ))}
              </ul>
            </details>
          </li>
        ))}
      </ol>
    </>
  );
}
