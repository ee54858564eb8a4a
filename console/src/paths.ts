// Attack paths as the API serves them, read defensively: the graph crate writes
// snake_case fields and a plain-text remediation; the console API adds camelCase ids
// (fixId) and structured remediations ({text, kubectl?, yamlPatch?}). Both are accepted.

import { query } from './api';

export interface Remediation {
  text: string;
  kubectl?: string;
  yamlPatch?: string;
}

export interface Step {
  from: string;
  to: string;
  kind: string;
  rule?: string;
  evidence: string[];
  remediation: Remediation;
  fixId?: string;
}

export interface ChokePoint {
  label: string;
  pathsBroken: number;
  scoreRemoved: number;
  fix: Remediation;
  fixId?: string;
}

export interface AttackPath {
  id?: string;
  cluster: string;
  entry: string;
  target: string;
  targetKind: string;
  steps: Step[];
  likelihood: number;
  impact: number;
  score: number;
  instances: number;
  story: string;
  chokePoints: ChokePoint[];
}

type Raw = Record<string, unknown>;

const str = (v: unknown): string => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));
const num = (v: unknown): number => (typeof v === 'number' && isFinite(v) ? v : 0);
const pick = (o: Raw, ...keys: string[]): unknown => keys.map((k) => o[k]).find((v) => v !== undefined);

function remediation(v: unknown): Remediation {
  if (v && typeof v === 'object') {
    const o = v as Raw;
    return {
      text: str(o.text),
      kubectl: o.kubectl ? str(o.kubectl) : undefined,
      yamlPatch: pick(o, 'yamlPatch', 'yaml_patch') ? str(pick(o, 'yamlPatch', 'yaml_patch')) : undefined,
    };
  }
  return { text: str(v) };
}

function chokeLabel(t: unknown): string {
  const o = (t ?? {}) as Raw;
  if (o.type === 'edge') return `${str(o.from)} → ${str(o.to)}`;
  return str(o.key ?? o.type);
}

export function normalisePath(raw: Raw): AttackPath {
  const steps = (Array.isArray(raw.steps) ? raw.steps : []) as Raw[];
  const chokes = (Array.isArray(pick(raw, 'chokePoints', 'choke_points')) ? pick(raw, 'chokePoints', 'choke_points') : []) as Raw[];
  return {
    id: raw.id === undefined ? undefined : str(raw.id),
    cluster: str(raw.cluster),
    entry: str(raw.entry),
    target: str(raw.target),
    targetKind: str(pick(raw, 'targetKind', 'target_kind')),
    likelihood: num(raw.likelihood),
    impact: num(raw.impact),
    score: num(raw.score),
    instances: num(raw.instances) || 1,
    story: str(raw.story),
    steps: steps.map((s) => ({
      from: str(s.from),
      to: str(s.to),
      kind: str(s.kind),
      rule: s.rule === undefined ? undefined : str(s.rule),
      evidence: (Array.isArray(s.evidence) ? s.evidence : []).map(str),
      remediation: remediation(s.remediation),
      fixId: pick(s, 'fixId', 'fix_id') === undefined ? undefined : str(pick(s, 'fixId', 'fix_id')),
    })),
    chokePoints: chokes.map((c) => ({
      label: chokeLabel(c.target),
      pathsBroken: num(pick(c, 'pathsRemoved', 'pathsBroken', 'paths_broken')),
      scoreRemoved: num(pick(c, 'scoreRemoved', 'score_removed')),
      fix: remediation(c.fix ?? c.remediation),
      fixId: pick(c, 'fixId', 'fix_id') === undefined ? undefined : str(pick(c, 'fixId', 'fix_id')),
    })),
  };
}

/** The nodes of a path in order: the entry, then where each step lands. */
export function pathNodes(p: AttackPath): string[] {
  return [p.entry, ...p.steps.map((s) => s.to)];
}

export interface RiskFactors {
  internet: boolean;
  kev: boolean;
  epss: boolean;
  exploit: boolean;
  privilege: boolean;
}

/** Risk factors read from the path's steps and evidence. */
export function riskFactors(p: AttackPath): RiskFactors {
  const text = p.steps.flatMap((s) => [s.kind, ...s.evidence]).join('\n');
  return {
    internet: /internet/i.test(p.entry) || /internet|LoadBalancer|NodePort|Ingress/i.test(text),
    kev: /\bKEV\b/.test(text),
    epss: /\bEPSS\b/i.test(text),
    exploit: /exploit/i.test(text),
    privilege: p.targetKind === 'clusterAdmin' || p.targetKind === 'nodeTakeover' || /privileged|escape/i.test(text),
  };
}

export const TARGET_KINDS: Record<string, string> = {
  clusterAdmin: 'cluster-admin',
  nodeTakeover: 'node takeover',
  sensitiveNamespace: 'sensitive namespace',
  secrets: 'secrets',
};

export function pathsUrl(cluster: string | null, assumeBreach: boolean, snapshot: string | null = null): string {
  return `/api/v1/attack-paths${query({ cluster, assumeBreach: assumeBreach || undefined, snapshot, limit: 1000 })}`;
}
