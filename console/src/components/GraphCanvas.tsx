import Graph from 'graphology';
import { useEffect, useRef, useState } from 'react';
import Sigma from 'sigma';
import { drawDiscNodeHover } from 'sigma/rendering';
import { layered } from './layout';
import { neutralise } from './Text';

// The WebGL graph (sigma.js over graphology). Labels are drawn on the canvas, so hostile
// text there is inert pixels; it is cut to 40 characters and every node is also in the
// list the page renders next to it (the keyboard and screen-reader equivalent).

export interface GraphNode {
  id: string;
  label: string;
  kind?: string;
}
export interface GraphEdge {
  source: string;
  target: string;
  label?: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#ff7f0e'];

function colourOf(kind: string | undefined): string {
  let h = 0;
  for (const c of kind ?? '') h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return PALETTE[h % PALETTE.length];
}

export function GraphCanvas({
  nodes,
  edges,
  selected,
  onSelect,
  label,
  direction = 'right',
}: {
  nodes: GraphNode[];
  edges: GraphEdge[];
  selected?: string | null;
  onSelect?: (id: string) => void;
  label: string;
  direction?: 'right' | 'down';
}) {
  const container = useRef<HTMLDivElement>(null);
  const sigma = useRef<Sigma | null>(null);
  const select = useRef(onSelect);
  const [failure, setFailure] = useState<string | null>(null);
  useEffect(() => {
    select.current = onSelect;
  }, [onSelect]);

  useEffect(() => {
    if (!container.current) return;
    const graph = new Graph({ multi: true, type: 'directed' });
    const positions = layered(
      nodes.map((n) => n.id),
      edges,
      direction,
    );
    const dark = window.matchMedia('(prefers-color-scheme: dark)').matches;
    for (const n of nodes) {
      if (graph.hasNode(n.id)) continue;
      const p = positions.get(n.id) ?? { x: 0, y: 0 };
      const text = neutralise(n.label);
      graph.addNode(n.id, {
        x: p.x,
        y: p.y,
        size: nodes.length > 500 ? 3 : 9,
        label: text.length > 40 ? text.slice(0, 40) + '…' : text,
        color: colourOf(n.kind),
      });
    }
    for (const e of edges) {
      if (graph.hasNode(e.source) && graph.hasNode(e.target)) {
        graph.addDirectedEdge(e.source, e.target, {
          label: e.label ? neutralise(e.label).slice(0, 40) : undefined,
          size: 2,
          type: 'arrow',
          color: dark ? '#8a93a6' : '#6b7280',
        });
      }
    }
    try {
      const s = new Sigma(graph, container.current, {
        // Along a top-to-bottom path the edge labels would run vertically: the steps
        // list says what each edge is.
        renderEdgeLabels: direction === 'right' && edges.length <= 200,
        // Small graphs show every label; large ones let sigma thin them out.
        labelDensity: nodes.length <= 100 ? 100 : 1,
        labelGridCellSize: nodes.length <= 100 ? 10 : 100,
        labelColor: { color: dark ? '#e6e9ef' : '#111827' },
        // sigma draws a hovered or selected node's label on a white box: dark text there
        // in both themes (the dark theme's light label colour was unreadable on it).
        defaultDrawNodeHover: (context, data, settings) =>
          drawDiscNodeHover(context, data, { ...settings, labelColor: { color: '#111827' } }),
        edgeLabelColor: { color: dark ? '#c7cdd8' : '#374151' },
        labelRenderedSizeThreshold: nodes.length > 500 ? 12 : 0,
        defaultEdgeType: 'arrow',
      });
      s.on('clickNode', ({ node }) => select.current?.(node));
      sigma.current = s;
      return () => {
        s.kill();
        sigma.current = null;
      };
    } catch (e) {
      // Only known once WebGL is asked for: the canvas falls back to its note.
      // eslint-disable-next-line react-hooks/set-state-in-effect
      setFailure(String(e));
    }
  }, [nodes, edges, direction]);

  useEffect(() => {
    const s = sigma.current;
    if (!s) return;
    s.setSetting('nodeReducer', (node, data) =>
      node === selected ? { ...data, highlighted: true, size: (data.size ?? 9) * 1.6 } : data,
    );
  }, [selected, nodes, edges]);

  if (failure) {
    return (
      <p className="state unavailable" role="note">
        The graph canvas needs WebGL, which this browser refused ({failure}). The list holds the same nodes and edges.
      </p>
    );
  }
  return (
    <div
      className={`graph graph-${direction}`}
      ref={container}
      role="img"
      aria-label={`${label}: ${nodes.length} nodes, ${edges.length} edges. The same graph is listed as text on this page.`}
    />
  );
}
