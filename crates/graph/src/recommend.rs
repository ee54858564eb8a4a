//! Recommendations, and the runtime context that raises a finding's priority.
//!
//! Three families, in this order:
//! 1. "Running containers should have vulnerability findings resolved": one per workload
//!    (the top controller, or a pod without one) whose images have findings, ordered by
//!    the workload's exposure and privileges, then by its worst finding.
//! 2. "Container images should have vulnerability findings resolved": one per image, with
//!    its findings by severity and the package upgrades that fix them, ordered by the
//!    image's highest finding priority.
//! 3. Posture: one per insight kind (privileged containers, hostPath, root, automounted
//!    tokens, no NetworkPolicy, cluster-admin bindings, …) with the affected resources,
//!    their evidence and the field to change, ordered by severity.
//!
//! The runtime context of an image ([`image_contexts`]) is the worst case over the
//! containers that run it; [`ImageFindings::reprioritise`] hands it to a scoring
//! function (the matcher's `reassess`, which lives outside this no-I/O crate's
//! dependencies) so findings in exposed, privileged workloads rank first.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crowsnest_model::Severity;
use crowsnest_model::finding::{Finding, FixStatus, RuntimeContext};
use serde::Serialize;

use crate::findings::ImageFindings;
use crate::graph::{EdgeKind, NodeId, NodeKind, SecurityGraph};
use crate::insights::InsightKind;
use crate::rules::RuleId;

/// Insight kinds per node, for the context and posture checks.
fn insights_by_node(graph: &SecurityGraph) -> HashMap<NodeId, BTreeSet<InsightKind>> {
    let mut by_node: HashMap<NodeId, BTreeSet<InsightKind>> = HashMap::new();
    for i in &graph.insights {
        by_node.entry(i.node).or_default().insert(i.kind);
    }
    by_node
}

/// The runtime context of one container: what its pod, its own securityContext and the
/// identity whose token it holds make of it.
fn container_context(
    graph: &SecurityGraph,
    insights: &HashMap<NodeId, BTreeSet<InsightKind>>,
    container: NodeId,
) -> RuntimeContext {
    let has = |id: NodeId, kind: InsightKind| insights.get(&id).is_some_and(|k| k.contains(&kind));
    let pod = graph.node(container).owner;
    let on_pod = |kind: InsightKind| pod.is_some_and(|p| has(p, kind));
    let escapes = graph
        .outgoing(container)
        .any(|(_, e)| e.kind == EdgeKind::CanEscapeTo);
    let exploited = graph
        .incoming(container)
        .any(|(_, e)| e.kind == EdgeKind::Exploits);
    // The service accounts whose token the container holds, and whether any of them
    // can do something an attacker wants (every rule edge leaving it is such a thing).
    let powerful_identity = graph
        .outgoing(container)
        .filter(|(_, e)| e.rule == Some(RuleId::TokenMounted))
        .any(|(_, token)| {
            has(token.to, InsightKind::ClusterAdminEquivalent)
                || has(token.to, InsightKind::CanReadSecrets)
                || graph.outgoing(token.to).any(|(_, e)| e.rule.is_some())
        });
    RuntimeContext {
        internet_exposed: exploited || on_pod(InsightKind::ExposedToInternet),
        privileged: escapes
            || has(container, InsightKind::PrivilegedContainer)
            || has(container, InsightKind::DangerousCapabilities),
        host_access: on_pod(InsightKind::HostNetwork)
            || on_pod(InsightKind::HostPid)
            || on_pod(InsightKind::HostIpc)
            || has(container, InsightKind::SensitiveHostPath)
            || has(container, InsightKind::RuntimeSocketMounted),
        runs_as_root: has(container, InsightKind::RunsAsRoot),
        powerful_identity,
    }
}

/// Worst case of two contexts: a flag set in either is set.
fn merge(into: &mut RuntimeContext, other: &RuntimeContext) {
    into.internet_exposed |= other.internet_exposed;
    into.privileged |= other.privileged;
    into.host_access |= other.host_access;
    into.runs_as_root |= other.runs_as_root;
    into.powerful_identity |= other.powerful_identity;
}

/// How exposed and privileged a context is, for ordering: internet exposure first, then
/// privilege, host access, a powerful identity, root.
fn exposure_rank(c: &RuntimeContext) -> u8 {
    u8::from(c.internet_exposed) << 4
        | u8::from(c.privileged) << 3
        | u8::from(c.host_access) << 2
        | u8::from(c.powerful_identity) << 1
        | u8::from(c.runs_as_root)
}

/// Runtime context per image node: the worst case over the containers that run it.
/// Images no container runs are absent.
pub fn image_contexts(graph: &SecurityGraph) -> BTreeMap<NodeId, RuntimeContext> {
    let insights = insights_by_node(graph);
    let mut out: BTreeMap<NodeId, RuntimeContext> = BTreeMap::new();
    for (id, node) in graph.nodes.iter().enumerate() {
        if node.kind != NodeKind::Image {
            continue;
        }
        for (_, e) in graph.incoming(id) {
            if e.kind == EdgeKind::UsesImage {
                let c = container_context(graph, &insights, e.from);
                merge(out.entry(id).or_default(), &c);
            }
        }
    }
    out
}

/// The manifest digest an image node was joined by, if any.
pub(crate) fn image_digest(graph: &SecurityGraph, image: NodeId) -> Option<&str> {
    graph
        .node(image)
        .props
        .get("digest")
        .and_then(|v| v.as_str())
}

impl ImageFindings {
    /// Re-scores each image's findings for the runtime context of the workloads that
    /// run it (the worst case over them; `None` for an image no workload runs), with
    /// `rescore` — the matcher's `priority::reassess` in the CLI.
    pub fn reprioritise(
        &mut self,
        graph: &SecurityGraph,
        mut rescore: impl FnMut(&mut [Finding], Option<&RuntimeContext>),
    ) {
        let contexts = image_contexts(graph);
        let mut by_digest: HashMap<&str, RuntimeContext> = HashMap::new();
        let mut by_reference: HashMap<&str, RuntimeContext> = HashMap::new();
        for (&image, context) in &contexts {
            match image_digest(graph, image) {
                // A container joins by digest first; only images whose digest has no
                // findings of its own fall back to the reference.
                Some(d) if self.has_digest(d) => {
                    merge(by_digest.entry(d).or_default(), context);
                }
                _ => merge(
                    by_reference
                        .entry(graph.node(image).name.as_str())
                        .or_default(),
                    context,
                ),
            }
        }
        self.for_each_mut(|digest, reference, found| {
            let context = match (digest, reference) {
                (Some(d), _) => by_digest.get(d),
                (_, Some(r)) => by_reference.get(r),
                (None, None) => None,
            };
            rescore(found, context);
        });
    }
}

/// What a recommendation is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum RecommendationKind {
    RunningContainerVulnerabilities,
    ImageVulnerabilities,
    Posture,
}

/// One resource a recommendation applies to, with what is wrong with it.
#[derive(Clone, Debug, Serialize)]
pub struct AffectedResource {
    /// Graph node key (`workload:shop/Deployment/web`, `image:sha256:…`).
    pub key: String,
    /// `workload shop/web`, `image registry/shop/web:1.4`.
    pub label: String,
    pub details: Vec<String>,
}

/// One recommendation: what to do, how bad leaving it is, where, and the fix.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Recommendation {
    pub kind: RecommendationKind,
    /// Stable identifier (`image-vulnerabilities:image:sha256:…`, `posture:privileged-containers`).
    pub id: String,
    pub title: String,
    pub severity: Severity,
    /// For vulnerability recommendations: the highest finding priority (after the runtime
    /// context); 0 for posture.
    pub priority: f64,
    /// Findings by severity (vulnerability recommendations), highest severity first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub findings_by_severity: Vec<(Severity, usize)>,
    /// For running containers: where they run (exposure and privileges).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_context: Option<RuntimeContext>,
    pub resources: Vec<AffectedResource>,
    pub fix: String,
}

pub const IMAGE_TITLE: &str = "Container images should have vulnerability findings resolved";
pub const RUNNING_TITLE: &str = "Running containers should have vulnerability findings resolved";

/// Every recommendation for the graph and the (reprioritised) findings it was built
/// with, in a deterministic order (see the module comment).
pub fn recommendations(graph: &SecurityGraph, findings: &ImageFindings) -> Vec<Recommendation> {
    let insights = insights_by_node(graph);
    let images = image_findings(graph, findings);
    let mut out = running_containers(graph, &insights, &images);
    out.extend(image_recommendations(graph, &images));
    out.extend(posture(graph));
    out
}

/// Findings per image node (images with none are left out).
fn image_findings<'a>(
    graph: &SecurityGraph,
    findings: &'a ImageFindings,
) -> BTreeMap<NodeId, &'a [Finding]> {
    (0..graph.nodes.len())
        .filter(|&id| graph.node(id).kind == NodeKind::Image)
        .filter_map(|id| {
            let found = findings.lookup(image_digest(graph, id), &graph.node(id).name)?;
            (!found.is_empty()).then_some((id, found))
        })
        .collect()
}

fn top_priority(found: &[Finding]) -> f64 {
    found.iter().map(|f| f.priority.score).fold(0.0, f64::max)
}

fn top_severity(found: &[Finding]) -> Severity {
    found
        .iter()
        .map(|f| f.severity)
        .max()
        .unwrap_or(Severity::Unknown)
}

fn by_severity(found: &[Finding]) -> Vec<(Severity, usize)> {
    let mut counts: BTreeMap<Severity, usize> = BTreeMap::new();
    for f in found {
        *counts.entry(f.severity).or_default() += 1;
    }
    counts.into_iter().rev().collect()
}

/// The upgrades that clear an image's fixable findings: per installed package, the
/// versions its advisories name as fixed (the last fixed version of each finding clears
/// every advisory merged into it).
fn upgrades(found: &[Finding]) -> Vec<String> {
    let mut per_package: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in found {
        if f.fix_status != FixStatus::FixAvailable {
            continue;
        }
        if let Some(v) = f.fixed_versions.last() {
            per_package
                .entry((f.package.name.clone(), f.package.version.clone()))
                .or_default()
                .insert(v.clone());
        }
    }
    per_package
        .into_iter()
        .map(|((name, installed), fixed)| {
            let fixed: Vec<String> = fixed.into_iter().collect();
            if fixed.len() == 1 {
                format!("upgrade {name} {installed} to {}", fixed[0])
            } else {
                format!(
                    "upgrade {name} {installed} to the highest of {}",
                    fixed.join(", ")
                )
            }
        })
        .collect()
}

/// The fix of a set of findings in words: the upgrades, and what has no fix.
fn fix_text(found: &[Finding]) -> String {
    let mut parts = upgrades(found);
    let unfixed = found
        .iter()
        .filter(|f| f.fix_status != FixStatus::FixAvailable || f.fixed_versions.is_empty())
        .count();
    if parts.is_empty() {
        parts.push("no fixed versions are known: rebuild on a newer base image or replace the affected packages".into());
    } else if unfixed > 0 {
        parts.push(format!(
            "{unfixed} finding(s) have no fixed version yet: rebuild on a newer base image when one exists"
        ));
    }
    parts.join("; ")
}

/// The three highest-priority findings, in words.
fn top_findings(found: &[Finding]) -> Vec<String> {
    let mut sorted: Vec<&Finding> = found.iter().collect();
    sorted.sort_by(|a, b| {
        b.priority
            .score
            .total_cmp(&a.priority.score)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    sorted
        .into_iter()
        .take(3)
        .map(|f| {
            format!(
                "{} ({}, priority {:.1}) in {} {}",
                f.id, f.severity, f.priority.score, f.package.name, f.package.version
            )
        })
        .collect()
}

fn image_recommendations(
    graph: &SecurityGraph,
    images: &BTreeMap<NodeId, &[Finding]>,
) -> Vec<Recommendation> {
    let mut out: Vec<Recommendation> = images
        .iter()
        .map(|(&id, found)| {
            let node = graph.node(id);
            Recommendation {
                kind: RecommendationKind::ImageVulnerabilities,
                id: format!("image-vulnerabilities:{}", node.key),
                title: IMAGE_TITLE.into(),
                severity: top_severity(found),
                priority: top_priority(found),
                findings_by_severity: by_severity(found),
                runtime_context: None,
                resources: vec![AffectedResource {
                    key: node.key.clone(),
                    label: node.label(),
                    details: top_findings(found),
                }],
                fix: fix_text(found),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}

fn running_containers(
    graph: &SecurityGraph,
    insights: &HashMap<NodeId, BTreeSet<InsightKind>>,
    images: &BTreeMap<NodeId, &[Finding]>,
) -> Vec<Recommendation> {
    struct Running<'a> {
        context: RuntimeContext,
        containers: BTreeSet<NodeId>,
        findings: Vec<&'a Finding>,
        images: BTreeSet<NodeId>,
    }
    let mut by_workload: BTreeMap<NodeId, Running> = BTreeMap::new();
    for (&image, found) in images {
        for (_, e) in graph.incoming(image) {
            if e.kind != EdgeKind::UsesImage {
                continue;
            }
            let container = e.from;
            let Some(pod) = graph.node(container).owner else {
                continue;
            };
            let workload = graph.node(pod).owner.unwrap_or(pod);
            let entry = by_workload.entry(workload).or_insert_with(|| Running {
                context: RuntimeContext::default(),
                containers: BTreeSet::new(),
                findings: Vec::new(),
                images: BTreeSet::new(),
            });
            merge(
                &mut entry.context,
                &container_context(graph, insights, container),
            );
            entry.containers.insert(container);
            if entry.images.insert(image) {
                entry.findings.extend(found.iter());
            }
        }
    }
    let mut out: Vec<(u8, Recommendation)> = by_workload
        .into_iter()
        .map(|(workload, running)| {
            let node = graph.node(workload);
            let found: Vec<Finding> = running.findings.iter().map(|&f| f.clone()).collect();
            let mut resources = vec![AffectedResource {
                key: node.key.clone(),
                label: node.label(),
                details: context_words(&running.context),
            }];
            for &image in &running.images {
                let img = graph.node(image);
                resources.push(AffectedResource {
                    key: img.key.clone(),
                    label: img.label(),
                    details: top_findings(images[&image]),
                });
            }
            let containers: Vec<String> = running
                .containers
                .iter()
                .map(|&c| graph.node(c).label())
                .collect();
            resources[0]
                .details
                .push(format!("containers: {}", containers.join(", ")));
            let rank = exposure_rank(&running.context);
            (
                rank,
                Recommendation {
                    kind: RecommendationKind::RunningContainerVulnerabilities,
                    id: format!("running-vulnerabilities:{}", node.key),
                    title: RUNNING_TITLE.into(),
                    severity: top_severity(&found),
                    priority: top_priority(&found),
                    findings_by_severity: by_severity(&found),
                    runtime_context: Some(running.context),
                    resources,
                    fix: format!(
                        "{}; then roll out {} with the rebuilt image",
                        fix_text(&found),
                        node.label()
                    ),
                },
            )
        })
        .collect();
    out.sort_by(|(ra, a), (rb, b)| {
        rb.cmp(ra)
            .then(b.priority.total_cmp(&a.priority))
            .then(b.severity.cmp(&a.severity))
            .then_with(|| a.id.cmp(&b.id))
    });
    out.into_iter().map(|(_, r)| r).collect()
}

/// A context in words, for the affected workload's details.
fn context_words(c: &RuntimeContext) -> Vec<String> {
    [
        (c.internet_exposed, "exposed to the internet"),
        (c.privileged, "privileged or can escape to its node"),
        (
            c.host_access,
            "shares host namespaces or sensitive host paths",
        ),
        (
            c.powerful_identity,
            "holds a powerful service-account token",
        ),
        (c.runs_as_root, "runs as root"),
    ]
    .into_iter()
    .filter(|(flag, _)| *flag)
    .map(|(_, words)| words.to_string())
    .collect()
}

/// Title, severity and fix of the posture recommendation for an insight kind; `None`
/// for the vulnerability insights, which the image and workload recommendations cover.
fn posture_rule(kind: InsightKind) -> Option<(&'static str, &'static str, Severity, &'static str)> {
    use InsightKind::*;
    Some(match kind {
        ExposedToInternet => (
            "exposed-to-internet",
            "Workloads should not be exposed to the internet unless they must be",
            Severity::Medium,
            "make the service internal (type: ClusterIP, an internal load balancer annotation, or spec.loadBalancerSourceRanges), restrict the ingress or gateway listener, or remove hostNetwork/hostPort",
        ),
        PrivilegedContainer => (
            "privileged-containers",
            "Privileged containers should be avoided",
            Severity::High,
            "set securityContext.privileged: false (or remove it) on the container",
        ),
        HostNetwork | HostPid | HostIpc => (
            "host-namespaces",
            "Containers sharing sensitive host namespaces should be avoided",
            Severity::High,
            "remove spec.hostNetwork, spec.hostPID and spec.hostIPC from the pod (or set them to false)",
        ),
        DangerousCapabilities => (
            "dangerous-capabilities",
            "Containers should not add capabilities that reach the host",
            Severity::High,
            "remove the listed capabilities from securityContext.capabilities.add and set capabilities.drop: [ALL]",
        ),
        WritableHostPath => (
            "writable-host-paths",
            "hostPath volumes should be read-only",
            Severity::Medium,
            "set readOnly: true on the volumeMount, or replace the hostPath volume with an emptyDir, configMap or persistent volume",
        ),
        SensitiveHostPath => (
            "sensitive-host-paths",
            "Sensitive host paths should not be mounted",
            Severity::High,
            "remove the hostPath volume (spec.volumes[].hostPath) that points at the listed host path",
        ),
        RuntimeSocketMounted => (
            "runtime-socket",
            "Container runtime sockets should not be mounted",
            Severity::Critical,
            "remove the hostPath volume of the container runtime socket (docker.sock, containerd.sock, crio.sock)",
        ),
        RunsAsRoot => (
            "runs-as-root",
            "Containers should run as a non-root user",
            Severity::Medium,
            "set securityContext.runAsNonRoot: true and a non-zero securityContext.runAsUser",
        ),
        ServiceAccountTokenAutomounted => (
            "automounted-tokens",
            "Service-account tokens should be mounted only where the API is used",
            Severity::Low,
            "set automountServiceAccountToken: false on the pod spec or its service account",
        ),
        CanReadSecrets => (
            "secret-readers",
            "Identities should not read secrets they do not need",
            Severity::High,
            "remove get/list/watch on secrets from the roles bound to the identity, or name the secrets in resourceNames",
        ),
        ClusterAdminEquivalent => (
            "cluster-admin",
            "Cluster-admin equivalent bindings should be removed",
            Severity::Critical,
            "delete the (Cluster)RoleBinding that grants it and bind a role with only the verbs and resources the identity uses",
        ),
        NotSelectedByNetworkPolicy => (
            "no-network-policy",
            "Pods should be selected by a NetworkPolicy",
            Severity::Medium,
            "add a NetworkPolicy whose spec.podSelector selects the pod (a default-deny ingress policy for the namespace, then allow the clients it needs)",
        ),
        PodSecurityBaselineViolation => (
            "pss-baseline",
            "Pods should meet the Pod Security Standards baseline",
            Severity::High,
            "change the listed fields, then label the namespace pod-security.kubernetes.io/enforce: baseline",
        ),
        PodSecurityRestrictedViolation => (
            "pss-restricted",
            "Pods should meet the Pod Security Standards restricted profile",
            Severity::Low,
            "change the listed fields (runAsNonRoot: true, allowPrivilegeEscalation: false, capabilities.drop: [ALL], seccompProfile.type: RuntimeDefault), then label the namespace pod-security.kubernetes.io/enforce: restricted",
        ),
        CriticalOrHighVulnerabilities
        | VulnerableToRemoteCodeExecution
        | ExploitableVulnerabilities => return None,
    })
}

fn posture(graph: &SecurityGraph) -> Vec<Recommendation> {
    let mut grouped: BTreeMap<&'static str, (&'static str, Severity, &'static str)> =
        BTreeMap::new();
    let mut resources: BTreeMap<&'static str, BTreeMap<String, AffectedResource>> = BTreeMap::new();
    for insight in &graph.insights {
        let Some((slug, title, severity, fix)) = posture_rule(insight.kind) else {
            continue;
        };
        grouped.insert(slug, (title, severity, fix));
        let node = graph.node(insight.node);
        let resource = resources
            .entry(slug)
            .or_default()
            .entry(node.key.clone())
            .or_insert_with(|| AffectedResource {
                key: node.key.clone(),
                label: node.label(),
                details: Vec::new(),
            });
        for e in &insight.evidence {
            if !resource.details.contains(e) {
                resource.details.push(e.clone());
            }
        }
    }
    let mut out: Vec<Recommendation> = grouped
        .into_iter()
        .map(|(slug, (title, severity, fix))| Recommendation {
            kind: RecommendationKind::Posture,
            id: format!("posture:{slug}"),
            title: title.into(),
            severity,
            priority: 0.0,
            findings_by_severity: Vec::new(),
            runtime_context: None,
            resources: resources
                .remove(slug)
                .map(|r| r.into_values().collect())
                .unwrap_or_default(),
            fix: fix.into(),
        })
        .collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.resources.len().cmp(&a.resources.len()))
            .then_with(|| a.id.cmp(&b.id))
    });
    out
}
