import { useState } from 'react';
import { Link } from 'react-router-dom';
import { ApiError, Page, query, request } from '../api';
import { TargetStatus, TargetTable } from '../components/Freshness';
import { Severity, SEVERITIES } from '../components/Severity';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { FindingRow } from '../findings';
import { download, useFetch, useUrlState, when } from '../hooks';

// Registries → repositories → images → one image: tags, digest, OS, findings, where it
// runs, SBOM downloads.

interface Registry {
  id: number;
  url: string;
  repositories: number;
}
interface Repository {
  id: number;
  registryId: number;
  registryUrl: string;
  name: string;
  images: number;
}
interface ImageItem {
  digest: string;
  platform?: string | null;
  lastPushed?: string | null;
  findings?: number | null;
  assessedAt?: string | null;
}
interface ImageDetail {
  digest: string;
  mediaType: string;
  platform?: string | null;
  createdAt?: string | null;
  locations: { registry: string; repository: string; tags: string[]; lastPushed?: string | null }[];
  runningIn: Record<string, string>[];
  assessment: { assessedAt: string; feedVersion?: string; findings: number; bySeverity: Record<string, number> } | null;
  layers?: { digest: string; size?: number; packages?: string[] }[];
}

const SBOM_FORMATS: [string, string, string][] = [
  ['CycloneDX', '', 'cyclonedx.json'],
  ['SPDX', 'spdx', 'spdx.json'],
];

function SbomButtons({ digest }: { digest: string }) {
  const [error, setError] = useState<unknown>(undefined);
  return (
    <>
      <div className="toolbar">
        {SBOM_FORMATS.map(([label, format, suffix]) => (
          <button
            key={label}
            type="button"
            onClick={async () => {
              setError(undefined);
              try {
                const r = await request(`/api/v1/images/${digest}/sbom${query({ format: format || undefined })}`);
                download(`${digest.replace(':', '-')}.${suffix}`, 'application/json', await r.text());
              } catch (e) {
                setError(e);
              }
            }}
          >
            Download SBOM ({label})
          </button>
        ))}
      </div>
      {error !== undefined &&
        (error instanceof ApiError && error.status === 400 && /format/.test(error.message) ? (
          <p className="state unavailable" role="alert">
            Not available on this server: it serves CycloneDX only ({error.message}).
          </p>
        ) : (
          <ErrorState error={error} what="SBOM" />
        ))}
    </>
  );
}

function ImagePage({ digest }: { digest: string }) {
  const image = useFetch<ImageDetail>(`/api/v1/images/${encodeURIComponent(digest)}`);
  const findings = useFetch<Page<FindingRow>>(`/api/v1/findings${query({ image: digest, limit: 1000 })}`);
  if (image.loading) return <Loading what="the image" />;
  if (image.error !== undefined) return <ErrorState error={image.error} what="image" />;
  const i = image.data!;
  const top = [...(findings.data?.items ?? [])].sort((a, b) => b.finding.priority.score - a.finding.priority.score).slice(0, 15);
  return (
    <section aria-labelledby="image-title">
      <h2 id="image-title" className="mono">
        {i.digest}
      </h2>
      <dl className="facts">
        <dt>OS / platform</dt>
        <dd>{i.platform ? <Text value={i.platform} /> : 'unknown'}</dd>
        <dt>Media type</dt>
        <dd>
          <Text value={i.mediaType} />
        </dd>
        <dt>Created</dt>
        <dd>{when(i.createdAt)}</dd>
        <dt>Assessed</dt>
        <dd>{i.assessment ? `${when(i.assessment.assessedAt)} (${i.assessment.findings} findings)` : 'not yet'}</dd>
      </dl>
      <h3>Tags</h3>
      <ul>
        {i.locations.map((l, n) => (
          <li key={n}>
            <Text value={`${l.registry}/${l.repository}`} />: {l.tags.length ? l.tags.map((t, k) => <span key={k}>{k > 0 && ', '}<Text value={t} max={60} /></span>) : <span className="muted">untagged</span>}
            <span className="muted"> (pushed {when(l.lastPushed)})</span>
          </li>
        ))}
      </ul>
      <h3>Layers</h3>
      {i.layers ? (
        <ol>
          {i.layers.map((l, n) => (
            <li key={n}>
              <span className="mono">{l.digest.slice(0, 19)}</span> {l.packages && `— ${l.packages.length} packages introduced`}
            </li>
          ))}
        </ol>
      ) : (
        <p className="muted">Not available on this server: its image endpoint does not list layers.</p>
      )}
      <h3>Findings by severity</h3>
      {i.assessment ? (
        <ul className="tiles">
          {SEVERITIES.filter((s) => s in i.assessment!.bySeverity).map((s) => (
            <li key={s}>
              <Link to={`/findings?image=${encodeURIComponent(i.digest)}&severity=${s}`}>
                <Severity value={s} />
                <span className="big">{i.assessment!.bySeverity[s]}</span>
              </Link>
            </li>
          ))}
        </ul>
      ) : (
        <Empty why="This image has not been assessed yet (pulled, inventoried and matched)." fix="Wait for the registry's next poll; see its status above." />
      )}
      {top.length > 0 && (
        <>
          <h3>Top findings by priority</h3>
          <ol>
            {top.map((f, n) => (
              <li key={n}>
                <Severity value={f.finding.severity} /> <Text value={f.finding.id} /> in <Text value={f.finding.package.name} />{' '}
                <span className="muted">priority {f.finding.priority.score.toFixed(1)}</span>
              </li>
            ))}
          </ol>
          <Link to={`/findings?image=${encodeURIComponent(i.digest)}`}>All findings of this image</Link>
        </>
      )}
      <h3>Where it runs</h3>
      {i.runningIn.length === 0 ? (
        <p className="muted">No pod of the latest cluster snapshots runs this image.</p>
      ) : (
        <ul>
          {i.runningIn.map((p, n) => (
            <li key={n}>
              <Text value={p.clusterId ?? p.cluster_id} /> / <Text value={p.namespace} /> / pod <Text value={p.pod} /> / container{' '}
              <Text value={p.container} />
            </li>
          ))}
        </ul>
      )}
      <h3>SBOM</h3>
      <SbomButtons digest={i.digest} />
    </section>
  );
}

export default function Images() {
  const [params, update] = useUrlState();
  const registry = params.get('registry');
  const repository = params.get('repository');
  const digest = params.get('digest');
  const registries = useFetch<{ items: Registry[]; monitoring: TargetStatus[] }>('/api/v1/registries');
  const repos = useFetch<{ items: Repository[] }>(registry ? `/api/v1/repositories?registry=${encodeURIComponent(registry)}` : null);
  const images = useFetch<Page<ImageItem>>(repository ? `/api/v1/images${query({ repository, limit: 1000 })}` : null);
  return (
    <>
      <h1>Images</h1>
      {digest ? (
        <>
          <p className="crumbs">
            <button type="button" className="link-button" onClick={() => update({ digest: null })}>
              Back to the list
            </button>
          </p>
          <ImagePage digest={digest} />
        </>
      ) : (
        <div className="split">
          <nav aria-labelledby="reg-title">
            <h2 id="reg-title">Registries</h2>
            {registries.loading && <Loading what="registries" />}
            {registries.error !== undefined && <ErrorState error={registries.error} what="registries" />}
            {registries.data && registries.data.items.length === 0 && (
              <Empty why="No registry has been polled yet." fix="Add a [[registries]] entry to crowsnest.toml, or wait for the first poll." />
            )}
            <ul className="plain">
              {(registries.data?.items ?? []).map((r) => (
                <li key={r.id}>
                  <button type="button" className="link-button" aria-pressed={registry === String(r.id)} onClick={() => update({ registry: String(r.id), repository: null })}>
                    <Text value={r.url} max={50} />
                  </button>{' '}
                  <span className="muted">{r.repositories} repositories</span>
                </li>
              ))}
            </ul>
            {repos.data && (
              <>
                <h2>Repositories</h2>
                <ul className="plain">
                  {repos.data.items.map((r) => (
                    <li key={r.id}>
                      <button type="button" className="link-button" aria-pressed={repository === String(r.id)} onClick={() => update({ repository: String(r.id) })}>
                        <Text value={r.name} max={50} />
                      </button>{' '}
                      <span className="muted">{r.images} images</span>
                    </li>
                  ))}
                </ul>
              </>
            )}
            {repos.error !== undefined && <ErrorState error={repos.error} what="repositories" />}
          </nav>
          <div>
            {!repository && registries.data && registries.data.monitoring.length > 0 && (
              <TargetTable targets={registries.data.monitoring} caption="Registry polling" />
            )}
            {!repository && <p className="muted">Pick a registry, then a repository.</p>}
            {images.loading && <Loading what="images" />}
            {images.error !== undefined && <ErrorState error={images.error} what="images" />}
            {images.data && images.data.items.length === 0 && <Empty why="This repository has no image left in the registry." />}
            {images.data && images.data.items.length > 0 && (
              <table className="data">
                <caption>Images</caption>
                <thead>
                  <tr>
                    <th scope="col">Digest</th>
                    <th scope="col">Platform</th>
                    <th scope="col">Last pushed</th>
                    <th scope="col">Findings</th>
                  </tr>
                </thead>
                <tbody>
                  {images.data.items.map((i) => (
                    <tr key={i.digest}>
                      <td>
                        <button type="button" className="link-button mono" onClick={() => update({ digest: i.digest })}>
                          {i.digest.slice(0, 19)}…
                        </button>
                      </td>
                      <td>{i.platform ? <Text value={i.platform} /> : '—'}</td>
                      <td>{when(i.lastPushed)}</td>
                      <td className="num">{i.findings ?? 'not assessed'}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </div>
        </div>
      )}
    </>
  );
}
