import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiError, sendJson } from '../api';
import { Builder, builderQuery, cellText, neighboursQuery, NODE_LABELS, queryProblem, QueryResult, RELATIONSHIP_TYPES, resultGraph } from '../cypher';
import { GraphCanvas } from '../components/GraphCanvas';
import { QueryEditor } from '../components/QueryEditor';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { download, toCsv, useFetch, useUrlState } from '../hooks';

interface Template {
  name: string;
  description: string;
  query: string;
}
interface Saved {
  id: string | number;
  name: string;
  query: string;
}

function BuilderForm({ onWrite }: { onWrite: (q: string) => void }) {
  const [b, setB] = useState<Builder>({ from: 'Pod', property: '', op: '=', value: '', relationship: '', to: '' });
  const set = (k: keyof Builder) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) => setB({ ...b, [k]: e.target.value });
  return (
    <form
      className="builder"
      aria-label="Query builder"
      onSubmit={(e) => {
        e.preventDefault();
        onWrite(builderQuery(b));
      }}
    >
      <label>
        Node type
        <select value={b.from} onChange={set('from')}>
          <option value="">Any</option>
          {NODE_LABELS.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
      </label>
      <label>
        Where property
        <input value={b.property} onChange={set('property')} placeholder="name" pattern="[A-Za-z_][A-Za-z0-9_]*" />
      </label>
      <label>
        is
        <select value={b.op} onChange={set('op')}>
          <option value="=">=</option>
          <option value="<>">≠</option>
          <option value="CONTAINS">contains</option>
          <option value="STARTS WITH">starts with</option>
          <option value=">">&gt;</option>
          <option value="<">&lt;</option>
          <option value="exists">exists</option>
        </select>
      </label>
      <label>
        Value
        <input value={b.value} onChange={set('value')} />
      </label>
      <label>
        Relationship
        <select value={b.relationship} onChange={set('relationship')}>
          <option value="">None</option>
          {RELATIONSHIP_TYPES.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
      </label>
      <label>
        To node type
        <select value={b.to} onChange={set('to')} disabled={!b.relationship}>
          <option value="">Any</option>
          {NODE_LABELS.map((l) => (
            <option key={l}>{l}</option>
          ))}
        </select>
      </label>
      <button type="submit">Write query</button>
    </form>
  );
}

function SavedQueries({ current, onOpen }: { current: string; onOpen: (q: string) => void }) {
  const saved = useFetch<{ items: Saved[] }>('/api/v1/explorer/saved');
  const [name, setName] = useState('');
  const [error, setError] = useState<unknown>(undefined);
  if (saved.error instanceof ApiError && saved.error.missingEndpoint) {
    return <ErrorState error={saved.error} what="saved queries" />;
  }
  return (
    <section aria-labelledby="saved-title">
      <h2 id="saved-title">Saved queries</h2>
      {saved.loading && <Loading what="saved queries" />}
      {saved.error !== undefined && <ErrorState error={saved.error} what="saved queries" />}
      {saved.data && saved.data.items.length === 0 && <p className="muted">None saved yet.</p>}
      <ul className="plain">
        {(saved.data?.items ?? []).map((s) => (
          <li key={s.id}>
            <button type="button" className="link-button" onClick={() => onOpen(s.query)}>
              <Text value={s.name} max={60} />
            </button>{' '}
            <button
              type="button"
              className="small"
              aria-label={`Delete saved query ${s.name}`}
              onClick={async () => {
                try {
                  await sendJson('DELETE', `/api/v1/explorer/saved/${encodeURIComponent(String(s.id))}`);
                  saved.reload();
                } catch (e) {
                  setError(e);
                }
              }}
            >
              Delete
            </button>
          </li>
        ))}
      </ul>
      <form
        className="inline"
        onSubmit={async (e) => {
          e.preventDefault();
          try {
            await sendJson('POST', '/api/v1/explorer/saved', { name: name.trim(), query: current });
            setName('');
            saved.reload();
          } catch (err) {
            setError(err);
          }
        }}
      >
        <label>
          Save the current query as
          <input value={name} onChange={(e) => setName(e.target.value)} required />
        </label>
        <button type="submit" disabled={!current.trim() || !name.trim()}>
          Save
        </button>
      </form>
      {error !== undefined && <ErrorState error={error} what="saved query" />}
    </section>
  );
}

export default function Explorer() {
  const [params, update] = useUrlState();
  const q = params.get('q') ?? '';
  const cluster = params.get('cluster') ?? '';
  const view = params.get('view') === 'graph' ? 'graph' : 'table';
  const selected = params.get('node');
  const [draft, setDraft] = useState(q);
  // A new query in the URL (a template, Back/Forward) replaces the editor's text.
  const [draftOf, setDraftOf] = useState(q);
  if (draftOf !== q) {
    setDraftOf(q);
    setDraft(q);
  }
  const templates = useFetch<{ items: Template[] }>('/api/v1/explorer/templates');
  const clusters = useFetch<{ items: { clusterId: string }[] }>('/api/v1/clusters');
  const [result, setResult] = useState<{ q: string; cluster: string; data?: QueryResult; error?: unknown } | null>(null);
  // Neighbours expanded into the current result (dropped when the query changes).
  const [expanded, setExpanded] = useState<{ of: string; results: QueryResult[] }>({ of: '', results: [] });
  const resultKey = `${cluster}\n${q}`;

  useEffect(() => {
    if (!q.trim()) return;
    let live = true;
    sendJson<QueryResult>('POST', '/api/v1/explorer/query', { query: q, ...(cluster ? { cluster } : {}) }).then(
      (data) => live && setResult({ q, cluster, data: data ?? undefined }),
      (error: unknown) => live && setResult({ q, cluster, error }),
    );
    return () => {
      live = false;
    };
  }, [q, cluster]);

  const current = result && result.q === q && result.cluster === cluster ? result : null;
  const run = useCallback(() => update({ q: draft, node: null }), [draft, update]);
  const rows = useMemo(
    () => [...(current?.data?.rows ?? []), ...(expanded.of === resultKey ? expanded.results : []).flatMap((r) => r.rows)],
    [current, expanded, resultKey],
  );
  const graph = useMemo(() => resultGraph(rows), [rows]);
  const problem = current?.error ? queryProblem(current.error) : null;

  const expand = async (key: string) => {
    const body = { query: neighboursQuery(key), ...(cluster ? { cluster } : {}) };
    const more = await sendJson<QueryResult>('POST', '/api/v1/explorer/query', body);
    if (more) setExpanded((x) => ({ of: resultKey, results: [...(x.of === resultKey ? x.results : []), more] }));
  };

  return (
    <>
      <h1>Explorer</h1>
      <div className="explorer">
        <div className="explorer-side">
          <section aria-labelledby="templates-title">
            <h2 id="templates-title">Templates</h2>
            {templates.loading && <Loading what="templates" />}
            {templates.error !== undefined && <ErrorState error={templates.error} what="query templates" />}
            <ul className="plain templates">
              {(templates.data?.items ?? []).map((t) => (
                <li key={t.name}>
                  <button type="button" className="link-button" onClick={() => update({ q: t.query, node: null })}>
                    {t.name}
                  </button>
                  <span className="muted"> — {t.description}</span>
                </li>
              ))}
            </ul>
          </section>
          <SavedQueries current={draft} onOpen={(text) => update({ q: text, node: null })} />
        </div>
        <div className="explorer-main">
          <h2>Build a query</h2>
          <BuilderForm onWrite={setDraft} />
          <h2 id="editor-title">Query</h2>
          <QueryEditor value={draft} onChange={setDraft} onRun={run} problem={problem} />
          <div className="toolbar">
            <label>
              Cluster
              <select value={cluster} onChange={(e) => update({ cluster: e.target.value })}>
                <option value="">The only cluster</option>
                {(clusters.data?.items ?? []).map((c) => (
                  <option key={c.clusterId} value={c.clusterId}>
                    {c.clusterId}
                  </option>
                ))}
              </select>
            </label>
            <button type="button" onClick={run} disabled={!draft.trim()}>
              Run (Ctrl+Enter)
            </button>
          </div>
          {q && !current && <Loading what="query results" />}
          {current?.error !== undefined && !problem && <ErrorState error={current.error} what="query" />}
          {current?.data && (
            <section aria-labelledby="results-title">
              <h2 id="results-title">Results</h2>
              <p role="status" data-testid="result-count">
                {rows.length} row{rows.length === 1 ? '' : 's'} from cluster <Text value={current.data.cluster} />
                {current.data.truncated && ' (truncated at the server limit of 1,000 rows; narrow the query)'}
              </p>
              <div className="toolbar">
                <div role="group" aria-label="Result view">
                  <button type="button" aria-pressed={view === 'table'} onClick={() => update({ view: null })}>
                    Table
                  </button>
                  <button type="button" aria-pressed={view === 'graph'} onClick={() => update({ view: 'graph' })}>
                    Graph
                  </button>
                </div>
                <button
                  type="button"
                  onClick={() => download('query.csv', 'text/csv', toCsv(current.data!.columns, rows.map((r) => r.map(cellText))))}
                >
                  Export CSV
                </button>
                <button
                  type="button"
                  onClick={() =>
                    download('query.json', 'application/json', JSON.stringify({ columns: current.data!.columns, rows }, null, 2))
                  }
                >
                  Export JSON
                </button>
              </div>
              {rows.length === 0 && <Empty why="The query matched nothing in this cluster's latest snapshot." fix="Loosen a condition." />}
              {rows.length > 0 && view === 'table' && (
                <div className="table-scroll" tabIndex={0} aria-label="Result table (scrolls)">
                  <table className="data">
                    <thead>
                      <tr>
                        {current.data.columns.map((c) => (
                          <th scope="col" key={c}>
                            <Text value={c} />
                          </th>
                        ))}
                      </tr>
                    </thead>
                    <tbody>
                      {rows.map((r, i) => (
                        <tr key={i} data-testid="result-row">
                          {r.map((c, j) => (
                            <td key={j}>
                              <Text value={cellText(c)} max={100} />
                            </td>
                          ))}
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
              {rows.length > 0 && view === 'graph' && (
                <>
                  {graph.nodes.length === 0 ? (
                    <Empty why="The result has no nodes or relationships to draw (only values)." fix="Return nodes, e.g. RETURN p." />
                  ) : (
                    <GraphCanvas
                      nodes={graph.nodes}
                      edges={graph.edges}
                      selected={selected}
                      onSelect={(id) => update({ node: id })}
                      label="Query result graph"
                    />
                  )}
                  {selected && (
                    <p>
                      Selected: <Text value={selected} />{' '}
                      <button type="button" onClick={() => void expand(selected)}>
                        Expand neighbours
                      </button>
                    </p>
                  )}
                  <h3>Nodes ({graph.nodes.length})</h3>
                  <ul className="plain node-list">
                    {graph.nodes.slice(0, 500).map((n) => (
                      <li key={n.id}>
                        <button type="button" className="link-button" aria-pressed={selected === n.id} onClick={() => update({ node: n.id })}>
                          <Text value={n.label} max={80} />
                        </button>{' '}
                        <span className="muted">{n.kind}</span>
                      </li>
                    ))}
                  </ul>
                  {graph.nodes.length > 500 && <p className="muted">First 500 of {graph.nodes.length} nodes listed; export for all.</p>}
                </>
              )}
            </section>
          )}
        </div>
      </div>
    </>
  );
}
