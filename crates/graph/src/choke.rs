//! Choke points: the edges and nodes whose removal breaks the most attack paths.

use std::collections::HashMap;

use serde::Serialize;

use crate::graph::{NodeId, SecurityGraph};
use crate::paths::{AttackPath, remediation};
use crate::rules::RuleId;

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum ChokeTarget {
    /// Every edge between two nodes (all rules): removing the connection.
    Edge {
        from: String,
        to: String,
        rules: Vec<RuleId>,
    },
    /// A node in the middle of paths (an identity, a container, a service).
    Node { key: String },
}

#[derive(Clone, Debug, Serialize)]
pub struct ChokePoint {
    pub target: ChokeTarget,
    /// Paths (counting the instances each stands for) that go through it.
    pub paths_broken: usize,
    /// Sum of the scores of those paths.
    pub score_removed: f64,
    pub fix: String,
}

/// Per connection: paths through it, their score, the rules involved, one edge of it.
type EdgeTally = (usize, f64, Vec<RuleId>, usize);

/// Ranks the edges and inner nodes of `paths` by how many paths go through them (the
/// paths found; other, less likely paths around a removed point are not counted). Entry
/// points and targets are not choke points: they are what the paths are about.
pub fn choke_points(graph: &SecurityGraph, paths: &[AttackPath], limit: usize) -> Vec<ChokePoint> {
    let mut edges: HashMap<(NodeId, NodeId), EdgeTally> = HashMap::new();
    let mut nodes: HashMap<NodeId, (usize, f64)> = HashMap::new();
    for path in paths {
        let weight = path.instances;
        let score = path.score * weight as f64;
        let mut seen_edges = Vec::new();
        for (i, step) in path.steps.iter().enumerate() {
            let e = graph.edge(step.edge);
            if !seen_edges.contains(&(e.from, e.to)) {
                seen_edges.push((e.from, e.to));
                let entry = edges
                    .entry((e.from, e.to))
                    .or_insert((0, 0.0, Vec::new(), step.edge));
                entry.0 += weight;
                entry.1 += score;
                if let Some(rule) = e.rule
                    && !entry.2.contains(&rule)
                {
                    entry.2.push(rule);
                }
            }
            if i + 1 < path.steps.len() {
                let n = nodes.entry(e.to).or_insert((0, 0.0));
                n.0 += weight;
                n.1 += score;
            }
        }
    }
    let mut out: Vec<ChokePoint> = edges
        .into_iter()
        .map(|((from, to), (count, score, mut rules, edge))| {
            rules.sort();
            ChokePoint {
                target: ChokeTarget::Edge {
                    from: graph.node(from).key.clone(),
                    to: graph.node(to).key.clone(),
                    rules,
                },
                paths_broken: count,
                score_removed: score,
                fix: remediation(graph, edge),
            }
        })
        .chain(nodes.into_iter().map(|(id, (count, score))| ChokePoint {
            target: ChokeTarget::Node {
                key: graph.node(id).key.clone(),
            },
            paths_broken: count,
            score_removed: score,
            fix: format!("harden or remove {}", graph.node(id).label()),
        }))
        .collect();
    out.sort_by(|a, b| {
        b.paths_broken
            .cmp(&a.paths_broken)
            .then(b.score_removed.total_cmp(&a.score_removed))
            .then_with(|| format!("{:?}", a.target).cmp(&format!("{:?}", b.target)))
    });
    out.truncate(limit);
    out
}
