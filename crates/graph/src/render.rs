//! Drawings of ranked attack paths: a Graphviz digraph and a Mermaid flowchart.
//!
//! Every node and edge of the paths appears once (paths share steps), edge labels name
//! the rule that made the edge (or the structural relation), and choke points are drawn
//! thick and red. Names come from clusters and are hostile: node identifiers are
//! generated (`n0`, `n1`, …) and every label is escaped for its language, so no name can
//! end a string, open a new statement or inject markup.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

use crate::choke::{ChokePoint, ChokeTarget};
use crate::graph::{NodeId, NodeKind, SecurityGraph};
use crate::paths::{AttackPath, target_kind};

/// Nodes and edges of a set of paths, deduplicated, in first-seen order (so the drawing
/// lists the best path first).
struct Drawing {
    nodes: Vec<NodeId>,
    /// (from, to, label), each once.
    edges: Vec<(NodeId, NodeId, String)>,
    choke_nodes: BTreeSet<String>,
    choke_edges: BTreeSet<(String, String)>,
}

impl Drawing {
    fn of(graph: &SecurityGraph, paths: &[AttackPath], chokes: &[ChokePoint]) -> Drawing {
        let mut nodes = Vec::new();
        let mut seen_nodes = BTreeSet::new();
        let mut edges = Vec::new();
        let mut seen_edges = BTreeSet::new();
        for path in paths {
            for step in &path.steps {
                let e = graph.edge(step.edge);
                for id in [e.from, e.to] {
                    if seen_nodes.insert(id) {
                        nodes.push(id);
                    }
                }
                let label = match e.rule {
                    Some(rule) => rule.as_str().to_string(),
                    None => e.kind.as_str().to_string(),
                };
                if seen_edges.insert((e.from, e.to, label.clone())) {
                    edges.push((e.from, e.to, label));
                }
            }
        }
        let mut choke_nodes = BTreeSet::new();
        let mut choke_edges = BTreeSet::new();
        for c in chokes {
            match &c.target {
                ChokeTarget::Node { key } => {
                    choke_nodes.insert(key.clone());
                }
                ChokeTarget::Edge { from, to, .. } => {
                    choke_edges.insert((from.clone(), to.clone()));
                }
            }
        }
        Drawing {
            nodes,
            edges,
            choke_nodes,
            choke_edges,
        }
    }

    /// Generated identifiers: `n<position>`.
    fn ids(&self) -> BTreeMap<NodeId, String> {
        self.nodes
            .iter()
            .enumerate()
            .map(|(i, &id)| (id, format!("n{i}")))
            .collect()
    }

    fn is_choke_edge(&self, graph: &SecurityGraph, from: NodeId, to: NodeId) -> bool {
        self.choke_edges
            .contains(&(graph.node(from).key.clone(), graph.node(to).key.clone()))
    }
}

/// How a node is drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Entry,
    Target,
    Step,
}

fn role(graph: &SecurityGraph, id: NodeId) -> Role {
    if graph.node(id).kind == NodeKind::Internet {
        Role::Entry
    } else if target_kind(graph, id).is_some() {
        Role::Target
    } else {
        Role::Step
    }
}

/// Text for a label: control characters (newlines, tabs, escapes) become spaces, so a
/// name cannot break a line of the output in either language.
fn flatten_controls(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// A Graphviz double-quoted string: backslash and quote escaped, so Graphviz's own
/// escapes (`\N`, `\G`, `\l`) cannot be triggered by a name either.
fn dot_quoted(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in flatten_controls(text).chars() {
        if matches!(c, '"' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Mermaid label text: anything but letters, digits, spaces and a few harmless marks
/// becomes an entity code (`#34;`), which Mermaid shows as the character; quotes,
/// brackets, pipes, `<`, `#`, `;` and the rest can then not close the label or become
/// markup.
fn mermaid_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in flatten_controls(text).chars() {
        if c.is_alphanumeric() || matches!(c, ' ' | '.' | '_' | '/' | ':' | '-' | '@' | ',' | '*') {
            out.push(c);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "#{};", u32::from(c));
        }
    }
    out
}

/// The paths as a Graphviz digraph (`dot -Tsvg` draws it).
pub fn paths_dot(graph: &SecurityGraph, paths: &[AttackPath], chokes: &[ChokePoint]) -> String {
    let d = Drawing::of(graph, paths, chokes);
    let ids = d.ids();
    let mut out = String::from(
        "digraph attack_paths {\n  rankdir=LR;\n  node [shape=box, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n",
    );
    for &id in &d.nodes {
        let node = graph.node(id);
        let mut attrs = vec![format!("label={}", dot_quoted(&node.label()))];
        match role(graph, id) {
            Role::Entry => attrs.push("shape=ellipse".into()),
            Role::Target => attrs.push("shape=doubleoctagon".into()),
            Role::Step => {}
        }
        if d.choke_nodes.contains(&node.key) {
            attrs.push("color=red, penwidth=3".into());
        }
        let _ = writeln!(out, "  {} [{}];", ids[&id], attrs.join(", "));
    }
    for (from, to, label) in &d.edges {
        let mut attrs = vec![format!("label={}", dot_quoted(label))];
        if d.is_choke_edge(graph, *from, *to) {
            attrs.push("color=red, penwidth=3".into());
        }
        let _ = writeln!(
            out,
            "  {} -> {} [{}];",
            ids[from],
            ids[to],
            attrs.join(", ")
        );
    }
    out.push_str("}\n");
    out
}

/// The paths as a Mermaid flowchart (Markdown renderers that know Mermaid draw it).
pub fn paths_mermaid(graph: &SecurityGraph, paths: &[AttackPath], chokes: &[ChokePoint]) -> String {
    let d = Drawing::of(graph, paths, chokes);
    let ids = d.ids();
    let mut out = String::from("flowchart LR\n");
    for &id in &d.nodes {
        let label = mermaid_text(&graph.node(id).label());
        let (open, close) = match role(graph, id) {
            Role::Entry => ("([\"", "\"])"),
            Role::Target => ("{{\"", "\"}}"),
            Role::Step => ("[\"", "\"]"),
        };
        let _ = writeln!(out, "  {}{open}{label}{close}", ids[&id]);
    }
    let mut choke_links = Vec::new();
    for (i, (from, to, label)) in d.edges.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {} -->|\"{}\"| {}",
            ids[from],
            mermaid_text(label),
            ids[to]
        );
        if d.is_choke_edge(graph, *from, *to) {
            choke_links.push(i.to_string());
        }
    }
    let choke_nodes: Vec<&str> = d
        .nodes
        .iter()
        .filter(|&&id| d.choke_nodes.contains(&graph.node(id).key))
        .map(|id| ids[id].as_str())
        .collect();
    if !choke_nodes.is_empty() {
        out.push_str("  classDef choke stroke:#d00,stroke-width:3px\n");
        let _ = writeln!(out, "  class {} choke", choke_nodes.join(","));
    }
    if !choke_links.is_empty() {
        let _ = writeln!(
            out,
            "  linkStyle {} stroke:#d00,stroke-width:3px",
            choke_links.join(",")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_strings_cannot_be_closed_or_broken() {
        assert_eq!(dot_quoted("a\"b"), "\"a\\\"b\"");
        assert_eq!(dot_quoted("a\\N"), "\"a\\\\N\"");
        assert_eq!(dot_quoted("x\ny\r\tz"), "\"x y  z\"");
    }

    #[test]
    fn mermaid_text_keeps_names_readable_and_markup_out() {
        assert_eq!(mermaid_text("pod shop/web-1"), "pod shop/web-1");
        assert_eq!(mermaid_text("a\"]b"), "a#34;#93;b");
        assert_eq!(mermaid_text("<img>|#;"), "#60;img#62;#124;#35;#59;");
        assert_eq!(mermaid_text("end\nclick"), "end click");
    }
}
