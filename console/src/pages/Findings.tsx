import { useVirtualizer } from '@tanstack/react-virtual';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link } from 'react-router-dom';
import { Severity, SEVERITIES } from '../components/Severity';
import { Empty, ErrorState, Loading } from '../components/State';
import { Text } from '../components/Text';
import { download, toCsv, useUrlState } from '../hooks';
import { CSV_HEADER, csvRow, FINDING_FILTERS, FindingRow, GROUPS, SORTS, useFindingPages } from '../findings';

const EAGER_PAGES = 5;
const EXPORT_CAP = 200_000;

function TextFilter({ name, label, value, onChange }: { name: string; label: string; value: string; onChange: (v: string) => void }) {
  const [draft, setDraft] = useState(value);
  return (
    <label>
      {label}
      <input
        name={name}
        value={draft}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={() => draft !== value && onChange(draft.trim())}
        onKeyDown={(e) => e.key === 'Enter' && onChange(draft.trim())}
      />
    </label>
  );
}

function Row({ r }: { r: FindingRow }) {
  const f = r.finding;
  return (
    <>
      <span role="cell">
        <Severity value={f.severity} />
      </span>
      <span role="cell">
        <Text value={f.id} max={30} />
        {f.exploitability.in_kev && <span className="badge kev">KEV</span>}
        {f.exploitability.exploit_published && <span className="badge">exploit</span>}
      </span>
      <span role="cell" className="num">
        {f.priority.score.toFixed(1)}
      </span>
      <span role="cell">
        <Text value={f.package.name} max={40} /> <span className="muted"><Text value={f.installed_version} max={24} /></span>
      </span>
      <span role="cell">
        {f.fix_status === 'FixAvailable' ? <Text value={(f.fixed_versions ?? []).join(', ') || 'fix available'} max={30} /> : f.fix_status}
      </span>
      <span role="cell">
        <Link to={`/images?digest=${encodeURIComponent(r.image)}`} title={r.image}>
          {r.image.slice(7, 19)}
        </Link>
      </span>
      <span role="cell" className="summary">
        <Text value={f.summary ?? ''} max={90} />
      </span>
    </>
  );
}

export default function Findings() {
  const [params, update] = useUrlState();
  const filters = useMemo(() => {
    const p = new URLSearchParams();
    for (const f of FINDING_FILTERS) {
      const v = params.get(f);
      if (v) p.set(f, v);
    }
    return p;
  }, [params]);
  const filterKey = filters.toString();
  const sort = params.get('sort') ?? 'priority';
  const group = params.get('group') ?? '';
  const pages = useFindingPages(filterKey, filters, EAGER_PAGES);
  const sorted = useMemo(() => [...pages.rows].sort(SORTS[sort] ?? SORTS.priority), [pages.rows, sort]);
  const groups = useMemo(() => {
    const key = GROUPS[group];
    if (!key) return null;
    const by = new Map<string, { key: string; count: number; top: FindingRow }>();
    for (const r of sorted) {
      const k = key(r);
      const g = by.get(k);
      if (g) g.count++;
      else by.set(k, { key: k, count: 1, top: r });
    }
    return [...by.values()];
  }, [sorted, group]);
  const scroller = useRef<HTMLDivElement>(null);
  const count = groups ? groups.length : sorted.length;
  // eslint-disable-next-line react-hooks/incompatible-library -- the list is not memoised by the compiler; it re-renders on scroll by design
  const virtual = useVirtualizer({ count, getScrollElement: () => scroller.current, estimateSize: () => 36, overscan: 20 });
  const items = virtual.getVirtualItems();
  const last = items.length ? items[items.length - 1].index : 0;
  const { more } = pages;
  useEffect(() => {
    if (last >= count - 50) more();
  }, [last, count, more]);
  const severities = new Set((params.get('severity') ?? '').split(',').filter(Boolean));
  const [exporting, setExporting] = useState(false);

  return (
    <>
      <h1>Findings</h1>
      <form className="filters" aria-label="Filter findings" onSubmit={(e) => e.preventDefault()}>
        <fieldset className="severities">
          <legend>Severity</legend>
          {SEVERITIES.map((s) => (
            <label key={s} className="check">
              <input
                type="checkbox"
                checked={severities.has(s)}
                onChange={(e) => {
                  const next = new Set(severities);
                  if (e.target.checked) next.add(s);
                  else next.delete(s);
                  update({ severity: SEVERITIES.filter((x) => next.has(x)).join(',') });
                }}
              />
              <Severity value={s} />
            </label>
          ))}
        </fieldset>
        <label>
          Fix status
          <select value={params.get('fixStatus') ?? ''} onChange={(e) => update({ fixStatus: e.target.value })}>
            <option value="">Any</option>
            <option value="FixAvailable">Fix available</option>
            <option value="NoFixAvailable">No fix available</option>
            <option value="WontFix">Won't fix</option>
            <option value="Unknown">Unknown</option>
          </select>
        </label>
        {(['kev', 'exploit'] as const).map((k) => (
          <label key={k}>
            {k === 'kev' ? 'Known exploited (KEV)' : 'Public exploit'}
            <select value={params.get(k) ?? ''} onChange={(e) => update({ [k]: e.target.value })}>
              <option value="">Any</option>
              <option value="true">Yes</option>
              <option value="false">No</option>
            </select>
          </label>
        ))}
        <TextFilter key={`cve=${params.get("cve") ?? ""}`} name="cve" label="CVE" value={params.get('cve') ?? ''} onChange={(v) => update({ cve: v })} />
        <TextFilter key={`package=${params.get("package") ?? ""}`} name="package" label="Package" value={params.get('package') ?? ''} onChange={(v) => update({ package: v })} />
        <TextFilter key={`image=${params.get("image") ?? ""}`} name="image" label="Image digest" value={params.get('image') ?? ''} onChange={(v) => update({ image: v })} />
        <TextFilter key={`namespace=${params.get("namespace") ?? ""}`} name="namespace" label="Namespace" value={params.get('namespace') ?? ''} onChange={(v) => update({ namespace: v })} />
        <TextFilter key={`cluster=${params.get("cluster") ?? ""}`} name="cluster" label="Cluster" value={params.get('cluster') ?? ''} onChange={(v) => update({ cluster: v })} />
        <label>
          Sort by
          <select value={sort} onChange={(e) => update({ sort: e.target.value === 'priority' ? null : e.target.value })}>
            <option value="priority">Priority</option>
            <option value="severity">Severity</option>
            <option value="cve">CVE</option>
            <option value="package">Package</option>
          </select>
        </label>
        <label>
          Group by
          <select value={group} onChange={(e) => update({ group: e.target.value })}>
            <option value="">No grouping</option>
            <option value="cve">CVE</option>
            <option value="image">Image</option>
            <option value="package">Package</option>
          </select>
        </label>
        <button
          type="button"
          disabled={exporting || pages.rows.length === 0}
          onClick={async () => {
            setExporting(true);
            try {
              const rows = (await pages.all(EXPORT_CAP)).sort(SORTS[sort] ?? SORTS.priority);
              download('findings.csv', 'text/csv', toCsv(CSV_HEADER, rows.map(csvRow)));
            } finally {
              setExporting(false);
            }
          }}
        >
          {exporting ? 'Exporting…' : 'Export CSV'}
        </button>
      </form>
      {pages.error !== undefined && <ErrorState error={pages.error} what="findings" />}
      {pages.loading && pages.error === undefined && <Loading what="findings" />}
      {!pages.loading && pages.done && pages.rows.length === 0 && (
        <Empty
          why={
            filterKey
              ? 'No finding matches these filters.'
              : 'No image has been assessed yet: registries are polled, images pulled and matched against the advisory feeds first.'
          }
          fix={filterKey ? 'Clear a filter.' : 'See the registries and feeds status on the Overview; the first assessment takes a few minutes.'}
        />
      )}
      {pages.rows.length > 0 && (
        <>
          <p role="status" data-testid="findings-count">
            {pages.done ? `${pages.rows.length.toLocaleString()} findings` : `${pages.rows.length.toLocaleString()} findings loaded, more on the server`}
            {groups && ` in ${groups.length.toLocaleString()} groups`}
            {!pages.done && ' — sorted among those loaded; scrolling loads more.'}
          </p>
          <div className="vlist" ref={scroller} tabIndex={0} aria-label="Findings list (scrolls)">
            <div role="table" aria-rowcount={count + 1} aria-label="Findings">
              <div role="rowgroup" className="vhead">
                <div role="row" className={groups ? 'vrow grouped' : 'vrow'}>
                  {groups ? (
                    <>
                      <span role="columnheader">{group}</span>
                      <span role="columnheader">Findings</span>
                      <span role="columnheader">Top severity / priority</span>
                    </>
                  ) : (
                    ['Severity', 'Id', 'Priority', 'Package', 'Fix', 'Image', 'Summary'].map((h) => (
                      <span role="columnheader" key={h}>
                        {h}
                      </span>
                    ))
                  )}
                </div>
              </div>
              <div role="rowgroup" className="vbody" style={{ height: virtual.getTotalSize() }}>
                {items.map((v) => (
                  <div
                    role="row"
                    aria-rowindex={v.index + 2}
                    key={v.key}
                    className={groups ? 'vrow grouped' : 'vrow'}
                    data-testid="finding-row"
                    style={{ transform: `translateY(${v.start}px)` }}
                  >
                    {groups ? (
                      <>
                        <span role="cell">
                          <button
                            type="button"
                            className="link-button"
                            onClick={() => update({ group: null, [group === 'cve' ? 'cve' : group]: groups[v.index].key })}
                          >
                            <Text value={groups[v.index].key} max={70} />
                          </button>
                        </span>
                        <span role="cell" className="num">
                          {groups[v.index].count}
                        </span>
                        <span role="cell">
                          <Severity value={groups[v.index].top.finding.severity} /> {groups[v.index].top.finding.priority.score.toFixed(1)}
                        </span>
                      </>
                    ) : (
                      <Row r={sorted[v.index]} />
                    )}
                  </div>
                ))}
              </div>
            </div>
          </div>
        </>
      )}
    </>
  );
}
