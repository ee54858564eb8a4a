import { useState } from 'react';
import { sendJson } from '../api';
import { AttackPath } from '../paths';
import { ErrorState } from './State';
import { Text } from './Text';

// Select fixes, ask the server what they cut (POST /attack-paths/simulate: a read that
// changes nothing), show paths removed, targets cut and the smallest cut to a target.

interface Simulation {
  pathsBefore: number;
  pathsAfter: number;
  pathsRemoved: unknown[];
  targetsCut: unknown[];
  minimalCut: { target: string; fixes: unknown[] } | null;
}

interface Candidate {
  fixId: string;
  label: string;
}

function candidates(path: AttackPath): Candidate[] {
  const out = new Map<string, string>();
  for (const c of path.chokePoints) if (c.fixId) out.set(c.fixId, `Choke point: ${c.label} — ${c.fix.text}`);
  path.steps.forEach((s, i) => {
    if (s.fixId && !out.has(s.fixId)) out.set(s.fixId, `Step ${i + 1}: ${s.remediation.text}`);
  });
  return [...out].map(([fixId, label]) => ({ fixId, label }));
}

export function CutSimulator({ cluster, path }: { cluster: string; path: AttackPath }) {
  const options = candidates(path);
  const [chosen, setChosen] = useState<Set<string>>(new Set());
  const [result, setResult] = useState<Simulation | null>(null);
  const [error, setError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);
  return (
    <section aria-labelledby="sim-title" className="simulator">
      <h2 id="sim-title">Cut simulator</h2>
      {options.length === 0 ? (
        <p className="state unavailable" role="note">
          Not available on this server: its attack paths carry no fix ids, which the simulator needs.
        </p>
      ) : (
        <form
          onSubmit={async (e) => {
            e.preventDefault();
            setBusy(true);
            setError(undefined);
            try {
              setResult(
                await sendJson<Simulation>('POST', '/api/v1/attack-paths/simulate', {
                  cluster,
                  fixes: [...chosen],
                  target: path.target,
                }),
              );
            } catch (err) {
              setResult(null);
              setError(err);
            } finally {
              setBusy(false);
            }
          }}
        >
          <fieldset>
            <legend>Fixes to apply (nothing changes in the cluster)</legend>
            {options.map((o) => (
              <label key={o.fixId} className="check">
                <input
                  type="checkbox"
                  name="fix"
                  value={o.fixId}
                  checked={chosen.has(o.fixId)}
                  onChange={(e) => {
                    const next = new Set(chosen);
                    if (e.target.checked) next.add(o.fixId);
                    else next.delete(o.fixId);
                    setChosen(next);
                  }}
                />
                <Text value={o.label} max={160} />
              </label>
            ))}
          </fieldset>
          <button type="submit" disabled={busy || chosen.size === 0}>
            {busy ? 'Simulating…' : 'Simulate'}
          </button>
        </form>
      )}
      {error !== undefined && <ErrorState error={error} what="cut simulation" />}
      {result && (
        <div role="status" className="sim-result">
          <p>
            Paths removed: <strong data-testid="paths-removed">{result.pathsRemoved.length}</strong> of {result.pathsBefore}{' '}
            ({result.pathsAfter} left).
          </p>
          <p>
            Targets cut:{' '}
            {result.targetsCut.length === 0
              ? 'none'
              : result.targetsCut.map((t, i) => (
                  <span key={i}>
                    {i > 0 && ', '}
                    <Text value={typeof t === 'string' ? t : JSON.stringify(t)} max={80} />
                  </span>
                ))}
          </p>
          {result.minimalCut && (
            <p>
              Smallest set of fixes cutting every path to <Text value={result.minimalCut.target} />:{' '}
              {result.minimalCut.fixes.map((f, i) => (
                <span key={i}>
                  {i > 0 && ', '}
                  <Text value={typeof f === 'string' ? f : JSON.stringify(f)} max={120} />
                </span>
              ))}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
