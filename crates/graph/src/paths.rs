//! Attack paths: from entry points (the Internet; optionally every container, for
//! assume-breach) to targets (node takeover, cluster-admin, secrets, sensitive
//! namespaces), the most likely path per entry and target, deduplicated and ranked by
//! likelihood × impact.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};

use serde::Serialize;

use crate::graph::{EdgeId, EdgeKind, NodeId, NodeKind, SecurityGraph};
use crate::rules::RuleId;

#[derive(Clone, Debug)]
pub struct PathOptions {
    /// Also start from every container (an attacker already runs code in one).
    pub assume_breach: bool,
    /// Longest path, in edges.
    pub max_depth: usize,
    /// Most paths returned (the best ones).
    pub max_paths: usize,
}

impl Default for PathOptions {
    fn default() -> Self {
        PathOptions {
            assume_breach: false,
            max_depth: 10,
            max_paths: 1000,
        }
    }
}

/// What the attacker gains at the end of a path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TargetKind {
    ClusterAdmin,
    NodeTakeover,
    SensitiveNamespace,
    Secrets,
}

impl TargetKind {
    /// Damage when reached (0..=1).
    pub fn impact(self) -> f64 {
        match self {
            TargetKind::ClusterAdmin => 1.0,
            TargetKind::NodeTakeover => 0.8,
            TargetKind::SensitiveNamespace => 0.7,
            TargetKind::Secrets => 0.5,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::ClusterAdmin => "cluster-admin",
            TargetKind::NodeTakeover => "node takeover",
            TargetKind::SensitiveNamespace => "sensitive namespace",
            TargetKind::Secrets => "secrets",
        }
    }
}

/// The target kind of a node, if it is one.
pub fn target_kind(graph: &SecurityGraph, id: NodeId) -> Option<TargetKind> {
    let node = graph.node(id);
    match node.kind {
        NodeKind::Cluster => Some(TargetKind::ClusterAdmin),
        NodeKind::Node => Some(TargetKind::NodeTakeover),
        NodeKind::Secret => Some(TargetKind::Secrets),
        NodeKind::Namespace
            if node.props.get("sensitive").and_then(|v| v.as_bool()) == Some(true) =>
        {
            Some(TargetKind::SensitiveNamespace)
        }
        _ => None,
    }
}

/// One step of a path.
#[derive(Clone, Debug, Serialize)]
pub struct Step {
    #[serde(skip)]
    pub edge: EdgeId,
    pub from: String,
    pub to: String,
    pub kind: EdgeKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleId>,
    pub evidence: Vec<String>,
    /// What to change so that this step no longer works.
    pub remediation: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AttackPath {
    pub entry: String,
    pub target: String,
    pub target_kind: TargetKind,
    pub steps: Vec<Step>,
    pub likelihood: f64,
    pub impact: f64,
    /// likelihood × impact × 100.
    pub score: f64,
    /// How many paths this one stands for (replicas of one workload, secrets of one
    /// namespace reached the same way).
    pub instances: usize,
    pub story: String,
}

#[derive(PartialEq)]
struct Queued {
    cost: f64,
    node: NodeId,
}
impl Eq for Queued {}
impl Ord for Queued {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .cost
            .total_cmp(&self.cost)
            .then(self.node.cmp(&other.node))
    }
}
impl PartialOrd for Queued {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Finds, ranks and deduplicates attack paths.
///
/// For each entry point a best-first search (cost = −ln likelihood, at most
/// `max_depth` edges) finds the most likely path to every reachable target; only nodes
/// from which some target is reachable are expanded. Targets do not stop the search:
/// a taken node leads on to the tokens on it.
pub fn attack_paths(graph: &SecurityGraph, options: &PathOptions) -> Vec<AttackPath> {
    let n = graph.nodes.len();
    let is_target: Vec<bool> = (0..n).map(|id| target_kind(graph, id).is_some()).collect();
    // Nodes that can reach a target, by a reverse walk over traversable edges.
    let mut useful = is_target.clone();
    let mut stack: Vec<NodeId> = (0..n).filter(|&i| is_target[i]).collect();
    while let Some(at) = stack.pop() {
        for (_, e) in graph.incoming(at) {
            if e.traversable && !useful[e.from] {
                useful[e.from] = true;
                stack.push(e.from);
            }
        }
    }
    let mut entries: Vec<NodeId> = graph.find(crate::INTERNET).into_iter().collect();
    if options.assume_breach {
        entries.extend((0..n).filter(|&i| graph.node(i).kind == NodeKind::Container));
    }
    entries.retain(|&e| useful[e]);

    let mut found: HashMap<String, AttackPath> = HashMap::new();
    let mut cost = vec![f64::INFINITY; n];
    let mut depth = vec![0usize; n];
    let mut via: Vec<Option<EdgeId>> = vec![None; n];
    let mut touched: Vec<NodeId> = Vec::new();
    for entry in entries {
        for &t in &touched {
            cost[t] = f64::INFINITY;
            via[t] = None;
        }
        touched.clear();
        cost[entry] = 0.0;
        depth[entry] = 0;
        touched.push(entry);
        let mut heap = BinaryHeap::from([Queued {
            cost: 0.0,
            node: entry,
        }]);
        while let Some(Queued { cost: c, node }) = heap.pop() {
            if c > cost[node] || depth[node] >= options.max_depth {
                continue;
            }
            for (eid, e) in graph.outgoing(node) {
                if !e.traversable || !useful[e.to] || e.likelihood <= 0.0 || e.to == entry {
                    continue;
                }
                let next = c - e.likelihood.ln();
                if next < cost[e.to] {
                    if cost[e.to].is_infinite() {
                        touched.push(e.to);
                    }
                    cost[e.to] = next;
                    depth[e.to] = depth[node] + 1;
                    via[e.to] = Some(eid);
                    heap.push(Queued {
                        cost: next,
                        node: e.to,
                    });
                }
            }
        }
        for &t in &touched {
            if !is_target[t] || t == entry {
                continue;
            }
            let mut edges = Vec::new();
            let mut at = t;
            while let Some(eid) = via[at] {
                edges.push(eid);
                at = graph.edge(eid).from;
                if edges.len() > options.max_depth {
                    break;
                }
            }
            edges.reverse();
            let path = make_path(graph, entry, t, &edges);
            let signature = signature(graph, entry, t, &edges);
            match found.get_mut(&signature) {
                Some(existing) => {
                    existing.instances += 1;
                    if path.score > existing.score {
                        let instances = existing.instances;
                        *existing = path;
                        existing.instances = instances;
                    }
                }
                None => {
                    found.insert(signature, path);
                }
            }
        }
    }
    let mut paths: Vec<AttackPath> = found.into_values().collect();
    paths.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(a.steps.len().cmp(&b.steps.len()))
            .then_with(|| a.story.cmp(&b.story))
    });
    paths.truncate(options.max_paths);
    paths
}

/// Identity of a path for deduplication: pods and containers stand for their workload
/// (replicas are one path), and a secret target for its namespace.
fn signature(graph: &SecurityGraph, entry: NodeId, target: NodeId, edges: &[EdgeId]) -> String {
    let group = |id: NodeId| {
        let node = graph.node(id);
        match node.kind {
            NodeKind::Container => {
                let pod = node.owner.map(|p| graph.node(p));
                let container = node.name.rsplit('/').next().unwrap_or("");
                match pod.and_then(|p| p.owner) {
                    Some(w) => format!("{}/{container}", graph.node(w).key),
                    None => node.key.clone(),
                }
            }
            NodeKind::Pod => node
                .owner
                .map(|w| graph.node(w).key.clone())
                .unwrap_or(node.key.clone()),
            NodeKind::Secret if id == target => {
                format!("secrets:{}", node.namespace.as_deref().unwrap_or(""))
            }
            _ => node.key.clone(),
        }
    };
    let mut s = group(entry);
    for &e in edges {
        let edge = graph.edge(e);
        s.push_str(&format!(
            " -{:?}{:?}-> {}",
            edge.kind,
            edge.rule,
            group(edge.to)
        ));
    }
    s
}

fn make_path(graph: &SecurityGraph, entry: NodeId, target: NodeId, edges: &[EdgeId]) -> AttackPath {
    let likelihood: f64 = edges.iter().map(|&e| graph.edge(e).likelihood).product();
    let target_kind = target_kind(graph, target).unwrap_or(TargetKind::Secrets);
    let impact = target_kind.impact();
    let mut story = graph.node(entry).label();
    let steps = edges
        .iter()
        .map(|&eid| {
            let e = graph.edge(eid);
            let detail = if e.evidence.is_empty() {
                String::new()
            } else {
                format!(" ({})", e.evidence.join("; "))
            };
            story.push_str(&format!(
                " → [{}{detail}] {}",
                e.kind.as_str(),
                graph.node(e.to).label()
            ));
            Step {
                edge: eid,
                from: graph.node(e.from).key.clone(),
                to: graph.node(e.to).key.clone(),
                kind: e.kind,
                rule: e.rule,
                evidence: e.evidence.clone(),
                remediation: remediation(graph, eid),
            }
        })
        .collect();
    story.push_str(&format!(" ⇒ {}", target_kind.as_str()));
    AttackPath {
        entry: graph.node(entry).key.clone(),
        target: graph.node(target).key.clone(),
        target_kind,
        steps,
        likelihood,
        impact,
        score: likelihood * impact * 100.0,
        instances: 1,
        story,
    }
}

/// The fix for one edge: the rule's remediation, or for reach edges the exposure to
/// remove.
pub fn remediation(graph: &SecurityGraph, edge: EdgeId) -> String {
    let e = graph.edge(edge);
    if let Some(rule) = e.rule {
        return rule.remediation().to_string();
    }
    let to = graph.node(e.to);
    match (graph.node(e.from).kind, to.kind) {
        (NodeKind::Internet, NodeKind::Service) => {
            format!(
                "make {} internal (ClusterIP, internal load balancer or loadBalancerSourceRanges)",
                to.label()
            )
        }
        (NodeKind::Internet, NodeKind::Pod) => {
            format!("remove hostNetwork/hostPort from {}", to.label())
        }
        (NodeKind::Internet, _) => format!("restrict {} to internal clients", to.label()),
        _ => format!(
            "isolate {} with a NetworkPolicy that admits only the clients it needs",
            to.label()
        ),
    }
}
