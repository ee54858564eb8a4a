//! The security graph: joins a cluster snapshot and image findings into typed nodes and
//! edges, computes insights, attack paths and choke points.
//!
//! Architecture invariant: no I/O. Values in, values out; the CLI and the server read
//! snapshots and findings and hand them over.
//!
//! Entry points:
//! - [`build`] (a [`ClusterInput`] + [`ImageFindings`]) → [`SecurityGraph`], with
//!   [`SecurityGraph::insights`] filled.
//! - [`attack_paths`] → ranked [`AttackPath`]s with stories and per-step remediation;
//!   [`choke_points`] over them → what to fix first.
//! - [`recommendations`] → what to fix (images, running containers, posture);
//!   [`ImageFindings::reprioritise`] raises findings' priority by where they run.
//! - [`paths_dot`] / [`paths_mermaid`] draw ranked paths.
//! - [`rules::RuleId`]: the attack-edge rules (docs/graph.md is generated from them).

mod build;
pub mod choke;
mod facts;
mod findings;
pub mod graph;
pub mod insights;
mod k8s;
pub mod paths;
pub mod query;
mod rbac;
pub mod recommend;
pub mod render;
pub mod rules;

pub use build::{ANY_NODE, BuildOptions, CLUSTER, ClusterInput, INTERNET, build};
pub use choke::{ChokePoint, ChokeTarget, choke_points};
pub use findings::ImageFindings;
pub use graph::{Edge, EdgeId, EdgeKind, Node, NodeId, NodeKind, SecurityGraph};
pub use insights::{Insight, InsightKind};
pub use paths::{AttackPath, PathOptions, Step, TargetKind, attack_paths};
pub use query::{QueryEngine, QueryError, QueryOptions, QueryResult};
pub use recommend::{Recommendation, RecommendationKind, image_contexts, recommendations};
pub use render::{paths_dot, paths_mermaid};
pub use rules::RuleId;
