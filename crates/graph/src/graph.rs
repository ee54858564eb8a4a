//! The graph itself: typed nodes, typed edges, and the indexes the analyses walk.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use crate::insights::Insight;
use crate::rules::RuleId;

/// Index of a node in [`SecurityGraph::nodes`].
pub type NodeId = usize;
/// Index of an edge in [`SecurityGraph::edges`].
pub type EdgeId = usize;

/// What a node stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeKind {
    /// The one entry point outside the cluster.
    Internet,
    Cluster,
    Namespace,
    /// A Kubernetes node, or the "any node" stand-in for pods that are not scheduled yet.
    Node,
    /// A controller: Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob,
    /// ReplicationController (the top of a pod's owner chain).
    Workload,
    /// A pod; in manifest mode also the pod a controller's template would create.
    Pod,
    Container,
    Image,
    Vulnerability,
    Service,
    Ingress,
    Gateway,
    NetworkPolicy,
    ServiceAccount,
    User,
    Group,
    Role,
    ClusterRole,
    /// A secret's metadata (its values never reach Crowsnest).
    Secret,
    Volume,
}

impl NodeKind {
    /// Lower-case words for stories and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Internet => "internet",
            NodeKind::Cluster => "cluster",
            NodeKind::Namespace => "namespace",
            NodeKind::Node => "node",
            NodeKind::Workload => "workload",
            NodeKind::Pod => "pod",
            NodeKind::Container => "container",
            NodeKind::Image => "image",
            NodeKind::Vulnerability => "vulnerability",
            NodeKind::Service => "service",
            NodeKind::Ingress => "ingress",
            NodeKind::Gateway => "gateway",
            NodeKind::NetworkPolicy => "network policy",
            NodeKind::ServiceAccount => "service account",
            NodeKind::User => "user",
            NodeKind::Group => "group",
            NodeKind::Role => "role",
            NodeKind::ClusterRole => "cluster role",
            NodeKind::Secret => "secret",
            NodeKind::Volume => "volume",
        }
    }
}

/// What an edge says about its two ends. Structural kinds describe the cluster; the
/// `Can*`, `Exploits`, `Administers` and `Controls` kinds are attack edges and always
/// carry the [`RuleId`] that produced them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EdgeKind {
    Contains,
    RunsOn,
    Maintains,
    RoutesTrafficTo,
    Exposes,
    UsesImage,
    HasVulnerability,
    AuthenticatesAs,
    BoundTo,
    Mounts,
    Selects,
    CanExecInto,
    CanPatch,
    CanCreatePodsIn,
    CanReadSecretsOf,
    CanEscapeTo,
    CanStealTokenOf,
    CanAssume,
    CanImpersonate,
    Exploits,
    Administers,
    Controls,
}

impl EdgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EdgeKind::Contains => "contains",
            EdgeKind::RunsOn => "runs on",
            EdgeKind::Maintains => "maintains",
            EdgeKind::RoutesTrafficTo => "routes traffic to",
            EdgeKind::Exposes => "exposes",
            EdgeKind::UsesImage => "uses image",
            EdgeKind::HasVulnerability => "has vulnerability",
            EdgeKind::AuthenticatesAs => "authenticates as",
            EdgeKind::BoundTo => "bound to",
            EdgeKind::Mounts => "mounts",
            EdgeKind::Selects => "selects",
            EdgeKind::CanExecInto => "can exec into",
            EdgeKind::CanPatch => "can patch",
            EdgeKind::CanCreatePodsIn => "can create pods in",
            EdgeKind::CanReadSecretsOf => "can read secrets of",
            EdgeKind::CanEscapeTo => "can escape to",
            EdgeKind::CanStealTokenOf => "can steal the token of",
            EdgeKind::CanAssume => "can assume",
            EdgeKind::CanImpersonate => "can impersonate",
            EdgeKind::Exploits => "exploits",
            EdgeKind::Administers => "administers",
            EdgeKind::Controls => "controls",
        }
    }
}

/// One node. `key` is unique in the graph (`pod:shop/web-1`, `image:sha256:…`).
#[derive(Clone, Debug, Serialize)]
pub struct Node {
    pub kind: NodeKind,
    pub key: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// The node this one belongs to for grouping: a pod's workload, a container's pod.
    #[serde(skip)]
    pub owner: Option<NodeId>,
    /// Facts about the node (service type, image reference, severity, …), for queries
    /// and reports.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub props: BTreeMap<String, Value>,
}

impl Node {
    /// `pod shop/web-1`, `cluster role admin`, `Internet`.
    pub fn label(&self) -> String {
        match self.kind {
            NodeKind::Internet => "Internet".to_string(),
            kind => match &self.namespace {
                Some(ns) if kind != NodeKind::Namespace => {
                    format!("{} {ns}/{}", kind.as_str(), self.name)
                }
                _ => format!("{} {}", kind.as_str(), self.name),
            },
        }
    }
}

/// One directed edge.
#[derive(Clone, Debug, Serialize)]
pub struct Edge {
    pub from: NodeId,
    pub to: NodeId,
    pub kind: EdgeKind,
    /// The attack rule that produced this edge; `None` for structure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleId>,
    /// Whether an attacker can move along it. Reach edges (routes traffic to, exposes)
    /// and every rule edge are; a route cut off by a NetworkPolicy is kept as structure
    /// with `traversable: false` and the policy in its evidence.
    pub traversable: bool,
    /// Chance that an attacker standing at `from` gets to `to` this way (0..=1).
    pub likelihood: f64,
    /// The facts that made the edge, in words (`privileged: true`, `LoadBalancer :443`).
    pub evidence: Vec<String>,
}

/// The joined graph of one cluster snapshot and its image findings.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SecurityGraph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
    pub insights: Vec<Insight>,
    /// Objects that were skipped or partly read, with the reason.
    pub warnings: Vec<String>,
    #[serde(skip)]
    out: Vec<Vec<EdgeId>>,
    #[serde(skip)]
    inc: Vec<Vec<EdgeId>>,
    #[serde(skip)]
    index: HashMap<String, NodeId>,
}

impl SecurityGraph {
    /// The node with `key`, if any.
    pub fn find(&self, key: &str) -> Option<NodeId> {
        self.index.get(key).copied()
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    pub fn edge(&self, id: EdgeId) -> &Edge {
        &self.edges[id]
    }

    /// Edges leaving `id`.
    pub fn outgoing(&self, id: NodeId) -> impl Iterator<Item = (EdgeId, &Edge)> {
        self.out[id].iter().map(|&e| (e, &self.edges[e]))
    }

    /// Edges arriving at `id`.
    pub fn incoming(&self, id: NodeId) -> impl Iterator<Item = (EdgeId, &Edge)> {
        self.inc[id].iter().map(|&e| (e, &self.edges[e]))
    }

    /// Edges produced by one rule, as `(from key, to key)` pairs, sorted.
    pub fn rule_edges(&self, rule: RuleId) -> Vec<(String, String)> {
        let mut pairs: Vec<_> = self
            .edges
            .iter()
            .filter(|e| e.rule == Some(rule))
            .map(|e| (self.nodes[e.from].key.clone(), self.nodes[e.to].key.clone()))
            .collect();
        pairs.sort();
        pairs.dedup();
        pairs
    }

    /// Gets the node with `key`, creating it when new.
    pub(crate) fn upsert(
        &mut self,
        kind: NodeKind,
        key: String,
        name: &str,
        namespace: Option<&str>,
    ) -> NodeId {
        if let Some(&id) = self.index.get(&key) {
            return id;
        }
        let id = self.nodes.len();
        self.nodes.push(Node {
            kind,
            key: key.clone(),
            name: name.to_string(),
            namespace: namespace.map(str::to_string),
            owner: None,
            props: BTreeMap::new(),
        });
        self.out.push(Vec::new());
        self.inc.push(Vec::new());
        self.index.insert(key, id);
        id
    }

    pub(crate) fn set_prop(&mut self, id: NodeId, name: &str, value: impl Into<Value>) {
        self.nodes[id].props.insert(name.to_string(), value.into());
    }

    /// Adds a structural edge (not traversable unless it is a reach edge).
    pub(crate) fn link(&mut self, from: NodeId, to: NodeId, kind: EdgeKind, evidence: Vec<String>) {
        let traversable = matches!(kind, EdgeKind::RoutesTrafficTo | EdgeKind::Exposes);
        self.push(Edge {
            from,
            to,
            kind,
            rule: None,
            traversable,
            likelihood: 1.0,
            evidence,
        });
    }

    /// Adds an edge produced by `rule`, with the rule's likelihood unless `likelihood`
    /// overrides it (exploitation depends on the vulnerability).
    pub(crate) fn attack(
        &mut self,
        from: NodeId,
        to: NodeId,
        rule: RuleId,
        likelihood: Option<f64>,
        evidence: Vec<String>,
    ) {
        self.push(Edge {
            from,
            to,
            kind: rule.edge_kind(),
            rule: Some(rule),
            traversable: true,
            likelihood: likelihood.unwrap_or(rule.likelihood()),
            evidence,
        });
    }

    pub(crate) fn push(&mut self, edge: Edge) {
        let id = self.edges.len();
        self.out[edge.from].push(id);
        self.inc[edge.to].push(id);
        self.edges.push(edge);
    }
}
