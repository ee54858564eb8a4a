// A layered layout for directed graphs (attack paths and explorer results): each node's
// layer is its longest distance from a source along edges (cycles broken by visiting
// order), nodes spread evenly within their layer in first-seen order, layers left to right.

export interface LayoutEdge {
  source: string;
  target: string;
}

/** `right`: layers left to right (wide results); `down`: top to bottom (a path, so the
 * labels, written horizontally, do not run into each other). */
export function layered(
  nodes: string[],
  edges: LayoutEdge[],
  direction: 'right' | 'down' = 'right',
): Map<string, { x: number; y: number }> {
  const out = new Map<string, string[]>();
  const indegree = new Map<string, number>(nodes.map((n) => [n, 0]));
  for (const e of edges) {
    if (!indegree.has(e.source) || !indegree.has(e.target) || e.source === e.target) continue;
    out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
    indegree.set(e.target, (indegree.get(e.target) ?? 0) + 1);
  }
  // Kahn's order; nodes left in cycles join at the end in input order.
  const layer = new Map<string, number>();
  const queue = nodes.filter((n) => indegree.get(n) === 0);
  const remaining = new Map(indegree);
  const seen = new Set<string>();
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i];
    seen.add(n);
    const l = layer.get(n) ?? 0;
    layer.set(n, l);
    for (const t of out.get(n) ?? []) {
      layer.set(t, Math.max(layer.get(t) ?? 0, l + 1));
      remaining.set(t, (remaining.get(t) ?? 1) - 1);
      if (remaining.get(t) === 0) queue.push(t);
    }
  }
  for (const n of nodes) if (!seen.has(n)) layer.set(n, layer.get(n) ?? 0);
  const byLayer = new Map<number, string[]>();
  for (const n of nodes) {
    const l = layer.get(n)!;
    byLayer.set(l, [...(byLayer.get(l) ?? []), n]);
  }
  const positions = new Map<string, { x: number; y: number }>();
  for (const [l, members] of byLayer) {
    members.forEach((n, i) => {
      const across = (i - (members.length - 1) / 2) * 6;
      positions.set(n, direction === 'right' ? { x: l * 10, y: across } : { x: across * 3, y: -l * 10 });
    });
  }
  return positions;
}
