import { ApiError, Page, query } from '../api';
import { useFetch, useUrlState, when } from '../hooks';
import { ErrorState, Loading } from './State';
import { Text } from './Text';

// Attack paths of an earlier snapshot (?snapshot=) and the paths added or removed since
// (GET /attack-paths/diff), for one cluster.

interface Snapshot {
  id: number;
  takenAt: string;
}
interface PathsDiff {
  added: { entry?: string; target?: string; story?: string }[];
  removed: { entry?: string; target?: string; story?: string }[];
}

/** An API error that means "this server does not take this parameter or endpoint". */
export function unsupported(e: unknown): boolean {
  return e instanceof ApiError && (e.missingEndpoint || (e.status === 400 && /unknown query parameter "snapshot"/.test(e.message)));
}

function Listed({ title, items }: { title: string; items: PathsDiff['added'] }) {
  return (
    <>
      <h3>
        {title} ({items.length})
      </h3>
      <ul>
        {items.map((p, i) => (
          <li key={i}>
            <Text value={p.story ?? `${p.entry} → ${p.target}`} max={200} />
          </li>
        ))}
      </ul>
    </>
  );
}

export function TimeTravel({ cluster }: { cluster: string }) {
  const [params, update] = useUrlState();
  const snapshot = params.get('snapshot');
  const snaps = useFetch<Page<Snapshot>>(`/api/v1/snapshots${query({ cluster, limit: 50 })}`);
  const latest = snaps.data?.items[0]?.id;
  const diff = useFetch<PathsDiff>(
    snapshot && latest && String(latest) !== snapshot ? `/api/v1/attack-paths/diff${query({ from: snapshot, to: latest })}` : null,
  );
  return (
    <section aria-labelledby="tt-title" className="timetravel">
      <h2 id="tt-title">Time travel</h2>
      {snaps.loading && <Loading what="snapshots" />}
      {snaps.error !== undefined && <ErrorState error={snaps.error} what="snapshots" />}
      {snaps.data && (
        <label>
          Paths of snapshot{' '}
          <select value={snapshot ?? ''} onChange={(e) => update({ snapshot: e.target.value })}>
            <option value="">the latest</option>
            {snaps.data.items.map((s) => (
              <option key={s.id} value={s.id}>
                #{s.id} {when(s.takenAt)}
              </option>
            ))}
          </select>
        </label>
      )}
      {diff.error !== undefined && <ErrorState error={diff.error} what="attack path diff" />}
      {diff.data && (
        <div data-testid="paths-diff">
          <p>Since snapshot #{snapshot}, up to the latest (#{latest}):</p>
          <Listed title="Paths added" items={diff.data.added} />
          <Listed title="Paths removed" items={diff.data.removed} />
        </div>
      )}
    </section>
  );
}
