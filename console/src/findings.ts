import { useCallback, useEffect, useRef, useState } from 'react';
import { getJson, Page, query } from './api';

// Findings of GET /api/v1/findings, walked through keyset pages as the list needs them.

export interface FindingRow {
  image: string;
  finding: {
    id: string;
    aliases?: string[];
    package: { name: string; version: string; kind: string; purl: string; ecosystem: string };
    installed_version: string;
    fixed_versions?: string[];
    fix_status: string;
    severity: string;
    summary?: string;
    references?: { kind: string; url: string }[];
    exploitability: { exploit_published: boolean; in_kev: boolean; epss?: { score?: number; percentile?: number } | null };
    priority: { score: number; reasons: string[] };
  };
}

export const FINDING_FILTERS = ['severity', 'fixStatus', 'kev', 'exploit', 'package', 'cve', 'image', 'namespace', 'cluster'] as const;

export function findingsPath(filters: URLSearchParams, cursor: string | null, limit = 1000): string {
  const params: Record<string, string | number | null> = { limit, cursor };
  for (const f of FINDING_FILTERS) params[f] = filters.get(f);
  return `/api/v1/findings${query(params)}`;
}

/** Pages loaded so far for one filter set; `more` loads the next page. */
export function useFindingPages(filterKey: string, filters: URLSearchParams, eagerPages: number) {
  const [state, setState] = useState<{ key: string; rows: FindingRow[]; next: string | null; done: boolean; error?: unknown }>({
    key: '',
    rows: [],
    next: null,
    done: false,
  });
  const loading = useRef(false);
  const generation = useRef(0);

  const load = useCallback(
    async (key: string, cursor: string | null, rows: FindingRow[], pages: number) => {
      const mine = generation.current;
      loading.current = true;
      try {
        let next = cursor;
        let all = rows;
        for (let i = 0; i < pages; i++) {
          // A small first page shows data soonest; then full pages.
          const page = await getJson<Page<FindingRow>>(findingsPath(filters, next, all.length === 0 ? 100 : 1000));
          if (mine !== generation.current) return;
          all = all.concat(page.items);
          next = page.next;
          setState({ key, rows: all, next, done: next === null });
          if (next === null) break;
        }
      } catch (error) {
        if (mine === generation.current) setState((s) => ({ ...s, key, error }));
      } finally {
        if (mine === generation.current) loading.current = false;
      }
    },
    [filters],
  );

  useEffect(() => {
    generation.current++;
    void load(filterKey, null, [], eagerPages);
  }, [filterKey, load, eagerPages]);

  const current = state.key === filterKey;
  const more = useCallback(() => {
    if (!current || loading.current || state.done || state.error) return;
    void load(filterKey, state.next, state.rows, 1);
  }, [current, state, filterKey, load]);

  const all = useCallback(async (cap: number): Promise<FindingRow[]> => {
    let rows = state.rows;
    let next = state.next;
    while (next !== null && rows.length < cap) {
      const page = await getJson<Page<FindingRow>>(findingsPath(filters, next));
      rows = rows.concat(page.items);
      next = page.next;
    }
    return rows.slice(0, cap);
  }, [state, filters]);

  return {
    rows: current ? state.rows : [],
    done: current && state.done,
    error: current ? state.error : undefined,
    loading: !current || (!state.done && state.rows.length === 0 && !state.error),
    more,
    all,
  };
}

const SEVERITY_RANK: Record<string, number> = { critical: 5, high: 4, medium: 3, low: 2, negligible: 1, unknown: 0 };

export const SORTS: Record<string, (a: FindingRow, b: FindingRow) => number> = {
  priority: (a, b) => b.finding.priority.score - a.finding.priority.score,
  severity: (a, b) => (SEVERITY_RANK[b.finding.severity.toLowerCase()] ?? 0) - (SEVERITY_RANK[a.finding.severity.toLowerCase()] ?? 0),
  cve: (a, b) => a.finding.id.localeCompare(b.finding.id),
  package: (a, b) => a.finding.package.name.localeCompare(b.finding.package.name),
};

export const GROUPS: Record<string, (r: FindingRow) => string> = {
  cve: (r) => r.finding.id,
  image: (r) => r.image,
  package: (r) => r.finding.package.name,
};

export const CSV_HEADER = ['image', 'id', 'severity', 'priority', 'package', 'installedVersion', 'fixStatus', 'fixedVersions', 'kev', 'exploit', 'summary'];

export function csvRow(r: FindingRow): unknown[] {
  const f = r.finding;
  return [
    r.image,
    f.id,
    f.severity,
    f.priority.score,
    f.package.name,
    f.installed_version,
    f.fix_status,
    (f.fixed_versions ?? []).join(' '),
    f.exploitability.in_kev,
    f.exploitability.exploit_published,
    f.summary ?? '',
  ];
}
