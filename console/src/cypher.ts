// openCypher helpers for the explorer: token highlighting, the builder's query text,
// the engine's positioned errors, and the graph inside a result.

import { ApiError } from './api';
import { GraphEdge, GraphNode } from './components/GraphCanvas';

export const NODE_LABELS = [
  'Internet', 'Cluster', 'Namespace', 'Node', 'Workload', 'Pod', 'Container', 'Image', 'Vulnerability', 'Service',
  'Ingress', 'Gateway', 'NetworkPolicy', 'ServiceAccount', 'User', 'Group', 'Role', 'ClusterRole', 'Secret', 'Volume',
];

export const RELATIONSHIP_TYPES = [
  'CONTAINS', 'RUNS_ON', 'MAINTAINS', 'ROUTES_TRAFFIC_TO', 'EXPOSES', 'USES_IMAGE', 'HAS_VULNERABILITY',
  'AUTHENTICATES_AS', 'BOUND_TO', 'MOUNTS', 'SELECTS', 'CAN_EXEC_INTO', 'CAN_PATCH', 'CAN_CREATE_PODS_IN',
  'CAN_READ_SECRETS_OF', 'CAN_ESCAPE_TO', 'CAN_STEAL_TOKEN_OF', 'CAN_ASSUME', 'CAN_IMPERSONATE', 'EXPLOITS',
  'ADMINISTERS', 'CONTROLS',
];

const KEYWORDS = new Set(
  'MATCH OPTIONAL WHERE RETURN DISTINCT ORDER BY ASC DESC LIMIT SKIP AND OR NOT XOR IN AS WITH UNWIND IS NULL TRUE FALSE CONTAINS STARTS ENDS COUNT ANY ALL NONE'.split(' '),
);

export interface Token {
  text: string;
  kind: 'keyword' | 'string' | 'number' | 'label' | 'comment' | 'plain';
  start: number;
}

export function tokenize(text: string): Token[] {
  const out: Token[] = [];
  const re = /(\/\/[^\n]*)|('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?)|(\b\d+(?:\.\d+)?\b)|(:[A-Za-z_][A-Za-z0-9_|]*)|([A-Za-z_][A-Za-z0-9_]*)|([\s\S])/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(text))) {
    const kind: Token['kind'] = m[1]
      ? 'comment'
      : m[2]
        ? 'string'
        : m[3]
          ? 'number'
          : m[4]
            ? 'label'
            : m[5] && KEYWORDS.has(m[5].toUpperCase())
              ? 'keyword'
              : 'plain';
    const last = out[out.length - 1];
    if (kind === 'plain' && last?.kind === 'plain') last.text += m[0];
    else out.push({ text: m[0], kind, start: m.index });
  }
  return out;
}

export interface QueryProblem {
  message: string;
  line: number;
  column: number;
}

/** The engine's "… at LINE:COLUMN" from an API error (0:0 when it has no position). */
export function queryProblem(error: unknown): QueryProblem | null {
  if (!(error instanceof ApiError) || error.status !== 400) return null;
  const m = /^(?:invalid query: )?([\s\S]*?) at (\d+):(\d+)(?:\n|$)/.exec(error.message);
  if (!m) return { message: error.message.replace(/^invalid query: /, ''), line: 0, column: 0 };
  return { message: m[1], line: Number(m[2]), column: Number(m[3]) };
}

/** Character offset of a 1-based line and column. */
export function offsetOf(text: string, line: number, column: number): number {
  const lines = text.split('\n');
  let offset = 0;
  for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
  return offset + Math.max(0, column - 1);
}

const quote = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export interface Builder {
  from: string;
  property: string;
  op: string;
  value: string;
  relationship: string;
  to: string;
}

export function builderQuery(b: Builder): string {
  const rel = b.relationship ? `-[r:${b.relationship}]->(b${b.to ? ':' + b.to : ''})` : '';
  let where = '';
  if (b.property && b.op) {
    const value = b.op === 'exists' ? '' : /^(true|false|-?\d+(\.\d+)?)$/.test(b.value) ? b.value : quote(b.value);
    where =
      b.op === 'exists' ? `\nWHERE a.${b.property} IS NOT NULL` : `\nWHERE a.${b.property} ${b.op} ${value}`;
  }
  const ret = b.relationship ? 'a, r, b' : 'a';
  return `MATCH (a${b.from ? ':' + b.from : ''})${rel}${where}\nRETURN ${ret}\nLIMIT 200`;
}

export function neighboursQuery(key: string): string {
  return `MATCH (a)-[r]-(b)\nWHERE a.key = ${quote(key)}\nRETURN a, r, b\nLIMIT 200`;
}

export interface QueryResult {
  cluster: string;
  columns: string[];
  rows: unknown[][];
  truncated: boolean;
}

type Obj = Record<string, unknown>;
const isNode = (v: unknown): v is Obj => !!v && typeof v === 'object' && 'key' in v && 'label' in v;
const isEdge = (v: unknown): v is Obj => !!v && typeof v === 'object' && 'type' in v && 'from' in v && 'to' in v;

/** Every node and relationship anywhere in the rows (lists included). */
export function resultGraph(rows: unknown[][]): { nodes: GraphNode[]; edges: GraphEdge[] } {
  const nodes = new Map<string, GraphNode>();
  const edges = new Map<string, GraphEdge>();
  const visit = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (isNode(v)) nodes.set(String(v.key), { id: String(v.key), label: String(v.key), kind: String(v.label) });
    else if (isEdge(v)) {
      const [from, to, type] = [String(v.from), String(v.to), String(v.type)];
      edges.set(`${from}|${type}|${to}`, { source: from, target: to, label: type });
    }
  };
  rows.forEach((r) => r.forEach(visit));
  for (const e of edges.values()) {
    for (const k of [e.source, e.target]) if (!nodes.has(k)) nodes.set(k, { id: k, label: k, kind: k.split(':')[0] });
  }
  return { nodes: [...nodes.values()], edges: [...edges.values()] };
}

export function cellText(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (isNode(v)) return String(v.key);
  if (isEdge(v)) return `${v.from} -[${v.type}]-> ${v.to}`;
  if (Array.isArray(v)) return `[${v.map(cellText).join(', ')}]`;
  return typeof v === 'object' ? JSON.stringify(v) : String(v);
}
