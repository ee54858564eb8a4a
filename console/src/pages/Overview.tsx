import { Link } from 'react-router-dom';
import { ApiError, Page } from '../api';
import { TargetStatus, TargetTable } from '../components/Freshness';
import { Severity, SEVERITIES } from '../components/Severity';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { useFetch, when } from '../hooks';
import { normalisePath, pathsUrl, TARGET_KINDS } from '../paths';

// The overview of GET /api/v1/overview; on a server without it, freshness comes from
// /status and the top paths from /attack-paths, and the rest says it is not available.

interface Overview {
  clusters: { name: string; lastSnapshotAt?: string; nextSnapshotAt?: string; status: string; lastError?: string | null }[];
  registries: { name: string; lastPollAt?: string; nextPollAt?: string; status: string; lastError?: string | null }[];
  feeds: { lastSyncAt?: string; nextSyncAt?: string; stale: boolean };
  findings: { bySeverity: Record<string, number>; exploitable: number; fixable: number; kev: number };
  topPaths: Record<string, unknown>[];
  topChokePoints: { fix: unknown; pathsRemoved: number; fixId?: string }[];
  changes: { cluster: string; from?: number; to?: number; added: Tally; removed: Tally; changed: Tally }[];
}

/** A change count: a number, or {count, ids} as the console API sends it. */
type Tally = number | { count: number; ids?: unknown[] };
const tally = (t: Tally) => (typeof t === 'number' ? t : Number(t?.count ?? 0));

function fixText(f: unknown): string {
  if (f && typeof f === 'object' && 'text' in f) return String((f as { text: unknown }).text);
  return String(f ?? '');
}

function Counts({ o }: { o: Overview }) {
  return (
    <section aria-labelledby="findings-title">
      <h2 id="findings-title">Findings</h2>
      <ul className="tiles">
        {SEVERITIES.filter((s) => s in o.findings.bySeverity).map((s) => (
          <li key={s} data-testid={`count-${s}`}>
            <Link to={`/findings?severity=${s}`}>
              <Severity value={s} />
              <span className="big">{o.findings.bySeverity[s].toLocaleString()}</span>
            </Link>
          </li>
        ))}
        <li data-testid="count-kev">
          <Link to="/findings?kev=true">
            Known exploited (KEV) <span className="big">{o.findings.kev.toLocaleString()}</span>
          </Link>
        </li>
        <li data-testid="count-exploitable">
          <Link to="/findings?exploit=true">
            Exploitable <span className="big">{o.findings.exploitable.toLocaleString()}</span>
          </Link>
        </li>
        <li data-testid="count-fixable">
          <Link to="/findings?fixStatus=FixAvailable">
            Fixable <span className="big">{o.findings.fixable.toLocaleString()}</span>
          </Link>
        </li>
      </ul>
    </section>
  );
}

function TopPaths({ items }: { items: Record<string, unknown>[] }) {
  const paths = items.map(normalisePath);
  const ranks = new Map<string, number>();
  return (
    <section aria-labelledby="top-paths-title">
      <h2 id="top-paths-title">Top attack paths to crown jewels</h2>
      {paths.length === 0 ? (
        <p className="muted">No attack path from an exposed entry in the latest snapshots.</p>
      ) : (
        <ol className="top-paths">
          {paths.map((p, i) => {
            const rank = (ranks.get(p.cluster) ?? 0) + 1;
            ranks.set(p.cluster, rank);
            return (
              <li key={i} data-testid="top-path">
                <Link to={`/attack-paths/${encodeURIComponent(p.cluster)}/${rank}`}>
                  <Text value={p.entry} max={50} /> → <Text value={p.target} max={50} />
                </Link>{' '}
                <span className="muted">
                  score {p.score.toFixed(1)}, {p.steps.length} steps, {TARGET_KINDS[p.targetKind] ?? p.targetKind}
                </span>
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}

function FromOverview({ o }: { o: Overview }) {
  return (
    <>
      <section aria-labelledby="fresh-title">
        <h2 id="fresh-title">Freshness</h2>
        <table className="data">
          <thead>
            <tr>
              <th scope="col">Target</th>
              <th scope="col">Status</th>
              <th scope="col">Last</th>
              <th scope="col">Next</th>
              <th scope="col">Last error</th>
            </tr>
          </thead>
          <tbody>
            {o.clusters.map((c) => (
              <tr key={'c' + c.name}>
                <td>
                  Cluster <Text value={c.name} />
                </td>
                <td>{c.status}</td>
                <td>snapshot {when(c.lastSnapshotAt)}</td>
                <td>{when(c.nextSnapshotAt)}</td>
                <td>{c.lastError ? <Text value={c.lastError} max={160} /> : '—'}</td>
              </tr>
            ))}
            {o.registries.map((r) => (
              <tr key={'r' + r.name}>
                <td>
                  Registry <Text value={r.name} />
                </td>
                <td>{r.status}</td>
                <td>poll {when(r.lastPollAt)}</td>
                <td>{when(r.nextPollAt)}</td>
                <td>{r.lastError ? <Text value={r.lastError} max={160} /> : '—'}</td>
              </tr>
            ))}
            <tr>
              <td>Advisory feeds</td>
              <td>{o.feeds.stale ? 'stale — sync the mirror' : 'fresh'}</td>
              <td>sync {when(o.feeds.lastSyncAt)}</td>
              <td>{when(o.feeds.nextSyncAt)}</td>
              <td>—</td>
            </tr>
          </tbody>
        </table>
      </section>
      <Counts o={o} />
      <TopPaths items={o.topPaths} />
      <section aria-labelledby="chokes-title">
        <h2 id="chokes-title">Top choke-point fixes</h2>
        <ol>
          {o.topChokePoints.map((c, i) => (
            <li key={i} data-testid="choke">
              <Text value={fixText(c.fix)} max={200} /> — removes <strong>{c.pathsRemoved}</strong> path{c.pathsRemoved === 1 ? '' : 's'}
            </li>
          ))}
        </ol>
      </section>
      <section aria-labelledby="changes-title">
        <h2 id="changes-title">Changes since the previous snapshot</h2>
        {o.changes.length === 0 ? (
          <p className="muted">No cluster has two snapshots yet.</p>
        ) : (
          <ul>
            {o.changes.map((c) => (
              <li key={c.cluster}>
                <Text value={c.cluster} />: {tally(c.added)} added, {tally(c.removed)} removed, {tally(c.changed)} changed{' '}
                <Link
                  to={`/clusters?cluster=${encodeURIComponent(c.cluster)}&tab=history${c.from && c.to ? `&from=${c.from}&to=${c.to}` : ''}`}
                >
                  see the diff
                </Link>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

function Fallback({ missing }: { missing: ApiError }) {
  const status = useFetch<{ targets: TargetStatus[]; feedAgeSeconds?: number | null }>('/api/v1/status');
  const paths = useFetch<Page<Record<string, unknown>>>(pathsUrl(null, false));
  return (
    <>
      <ErrorState error={missing} what="overview" />
      <section aria-labelledby="fresh-title">
        <h2 id="fresh-title">Freshness</h2>
        {status.loading && <Loading what="status" />}
        {status.error !== undefined && <ErrorState error={status.error} what="status" />}
        {status.data && status.data.targets.length === 0 && (
          <Empty why="No registry, cluster or feed has been worked on yet." fix="Configure targets in crowsnest.toml, or wait for the first run." />
        )}
        {status.data && status.data.targets.length > 0 && <TargetTable targets={status.data.targets} caption="Every target" />}
      </section>
      {paths.error !== undefined ? <ErrorState error={paths.error} what="attack paths" /> : <TopPaths items={(paths.data?.items ?? []).slice(0, 5)} />}
    </>
  );
}

export default function OverviewPage() {
  const overview = useFetch<Overview>('/api/v1/overview');
  return (
    <>
      <h1>Overview</h1>
      {overview.loading && <Loading what="the overview" />}
      {overview.error instanceof ApiError && overview.error.missingEndpoint && <Fallback missing={overview.error} />}
      {overview.error !== undefined && !(overview.error instanceof ApiError && overview.error.missingEndpoint) && (
        <ErrorState error={overview.error} what="overview" />
      )}
      {overview.data && <FromOverview o={overview.data} />}
    </>
  );
}
