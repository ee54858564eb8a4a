import { useMemo, useState } from 'react';
import { Link, useParams } from 'react-router-dom';
import { Page } from '../api';
import { CutSimulator } from '../components/CutSimulator';
import { GraphCanvas, GraphEdge, GraphNode } from '../components/GraphCanvas';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { download, useFetch, useUrlState } from '../hooks';
import { pathReport } from '../report';
import { AttackPath as Path, normalisePath, pathNodes, pathsUrl, Remediation, riskFactors, Step, TARGET_KINDS } from '../paths';

function kindOf(key: string): string {
  return key.includes(':') ? key.slice(0, key.indexOf(':')) : key;
}

export function Fix({ fix }: { fix: Remediation }) {
  return (
    <div className="fix-block">
      <p>
        <strong>Fix:</strong> <Text value={fix.text} max={400} />
      </p>
      {fix.kubectl && (
        <>
          <p className="label">kubectl</p>
          <pre tabIndex={0} aria-label="kubectl command">
            <code>{fix.kubectl}</code>
          </pre>
        </>
      )}
      {fix.yamlPatch && (
        <>
          <p className="label">YAML patch</p>
          <pre tabIndex={0} aria-label="YAML patch">
            <code>{fix.yamlPatch}</code>
          </pre>
        </>
      )}
    </div>
  );
}

function StepDetail({ step, n }: { step: Step; n: number }) {
  return (
    <>
      <p>
        Step {n}: <Text value={step.from} max={60} /> <em>{step.kind.replace(/([A-Z])/g, ' $1').toLowerCase()}</em>{' '}
        <Text value={step.to} max={60} />
        {step.rule && <span className="muted"> (rule {step.rule})</span>}
      </p>
      <h4>Evidence</h4>
      {step.evidence.length === 0 ? (
        <p className="muted">No evidence recorded for this step.</p>
      ) : (
        <ul className="evidence">
          {step.evidence.map((e, i) => (
            <li key={i}>
              <Text value={e} max={300} />
            </li>
          ))}
        </ul>
      )}
      <Fix fix={step.remediation} />
    </>
  );
}

function NodePanel({ path, node }: { path: Path; node: string }) {
  const steps = path.steps.map((s, i) => ({ s, i })).filter(({ s }) => s.from === node || s.to === node);
  return (
    <aside className="panel" aria-labelledby="panel-title">
      <h2 id="panel-title">
        <Text value={node} max={80} />
      </h2>
      <p className="muted">Kind: {kindOf(node)}</p>
      {steps.map(({ s, i }) => (
        <section key={i}>
          <StepDetail step={s} n={i + 1} />
        </section>
      ))}
    </aside>
  );
}

export default function AttackPathPage() {
  const { cluster = '', index = '1' } = useParams();
  const [params, update] = useUrlState();
  const assumeBreach = params.get('assumeBreach') === 'true';
  const fetched = useFetch<Page<Record<string, unknown>>>(pathsUrl(cluster, assumeBreach, params.get('snapshot')));
  const rank = Number(index);
  const path = useMemo(() => {
    const raw = fetched.data?.items[rank - 1];
    return raw ? normalisePath(raw) : undefined;
  }, [fetched.data, rank]);
  const graph = useMemo(() => {
    if (!path) return { nodes: [] as GraphNode[], edges: [] as GraphEdge[] };
    const nodes = pathNodes(path).map((k) => ({ id: k, label: k, kind: kindOf(k) }));
    const edges = path.steps.map((s) => ({ source: s.from, target: s.to, label: s.kind }));
    return { nodes, edges };
  }, [path]);
  const selected = params.get('node') ?? path?.entry ?? null;
  const [mask, setMask] = useState(true);

  if (fetched.loading) return <Loading what="the attack path" />;
  if (fetched.error !== undefined) return <ErrorState error={fetched.error} what="attack paths" />;
  if (!path) {
    return (
      <Empty
        why={`Cluster “${cluster}” has no attack path number ${index} in its latest snapshot (paths change with each snapshot).`}
        fix={<Link to="/attack-paths">Go to the list of attack paths.</Link>}
      />
    );
  }
  const f = riskFactors(path);
  return (
    <>
      <p className="crumbs">
        <Link to="/attack-paths">Attack paths</Link> › <Text value={cluster} /> › #{rank}
      </p>
      <h1>
        <Text value={path.entry} max={60} /> → <Text value={path.target} max={60} />
      </h1>
      <dl className="facts">
        <dt>Score</dt>
        <dd data-testid="score">{path.score.toFixed(1)}</dd>
        <dt>Likelihood</dt>
        <dd>{path.likelihood.toFixed(2)}</dd>
        <dt>Impact</dt>
        <dd>
          {path.impact.toFixed(2)} ({TARGET_KINDS[path.targetKind] ?? path.targetKind})
        </dd>
        <dt>Instances</dt>
        <dd>{path.instances}</dd>
        <dt>Risk factors</dt>
        <dd>
          {[f.internet && 'internet-exposed', f.kev && 'KEV', f.epss && 'EPSS', f.exploit && 'exploit', f.privilege && 'privilege']
            .filter(Boolean)
            .join(', ') || 'none recorded'}
        </dd>
      </dl>
      <p className="story">
        <Text value={path.story} max={600} />
      </p>
      <div className="toolbar">
        <label className="check">
          <input type="checkbox" checked={mask} onChange={(e) => setMask(e.target.checked)} />
          Mask names in the report
        </label>
        <button
          type="button"
          onClick={() => download(`attack-path-${cluster}-${rank}.html`, 'text/html', pathReport(path, mask))}
        >
          Download report (HTML)
        </button>
      </div>
      <div className="path-view">
        <GraphCanvas
          nodes={graph.nodes}
          edges={graph.edges}
          selected={selected}
          onSelect={(id) => update({ node: id })}
          label="Attack path graph"
          direction="down"
        />
        {selected && <NodePanel path={path} node={selected} />}
      </div>
      <h2 id="steps-title">Steps</h2>
      <ol className="steps" aria-labelledby="steps-title">
        {path.steps.map((s, i) => (
          <li key={i} data-testid="step">
            <button
              type="button"
              className="link-button"
              aria-pressed={selected === s.to}
              onClick={() => update({ node: s.to })}
            >
              Show <Text value={s.to} max={60} /> in the panel
            </button>
            <StepDetail step={s} n={i + 1} />
          </li>
        ))}
      </ol>
      <h2>Choke points</h2>
      {path.chokePoints.length === 0 ? (
        <p className="muted">The server listed no choke point for this cluster's paths.</p>
      ) : (
        <ul className="chokes">
          {path.chokePoints.map((c, i) => (
            <li key={i}>
              <strong>
                <Text value={c.label} max={100} />
              </strong>{' '}
              — breaks {c.pathsBroken} path{c.pathsBroken === 1 ? '' : 's'}
              <Fix fix={c.fix} />
            </li>
          ))}
        </ul>
      )}
      <CutSimulator cluster={cluster} path={path} />
    </>
  );
}
